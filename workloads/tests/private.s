; private — a test program (not a workload): tasks try to reach memory that is not theirs, and each attempt
; must end exactly as on bare metal. Every task has its own address space, so the same virtual address in the
; demand-zero region is a different page in each task; the frames behind them are reachable only through the
; kernel's supervisor-only identity map.
        .equ SECRET_VA, DZ_BASE + 0x1000
        .equ SECRET, 0x5ec7e7
        .align 4
user_tasks:
        .word t_owner, 0, t_snoop, 0, t_frames, 0
        .word 0
t_owner:
        li   r1, SECRET_VA
        li   r2, SECRET
        stw  r2, [r1]              ; a demand-zero page of its own
        movi r1, 3
        sys  SYS_SLEEP             ; let the others look
        li   r1, SECRET_VA
        ldw  r2, [r1]
        li   r3, SECRET
        cmp  r2, r3
        bne  o_bad
        li   r1, msg_kept
        call puts
        movi r1, 0
        call exit
o_bad:  li   r1, msg_changed
        call puts
        movi r1, 1
        call exit
t_snoop:
        movi r1, 1
        sys  SYS_SLEEP             ; the owner has written its secret by now
        li   r1, SECRET_VA
        ldw  r2, [r1]              ; the same virtual address: its own, fresh page
        cmpi r2, 0
        bne  s_leak
        movi r2, 1
        stw  r2, [r1]              ; and writing there must not reach the owner
        li   r1, msg_fresh
        call puts
        movi r1, 0
        call exit
s_leak: li   r1, msg_leak
        call puts
        movi r1, 1
        call exit
t_frames:
        li   r1, POOL_BASE         ; the free-frame pool, where the owner's page lives: supervisor-only
frames_at:
        ldw  r2, [r1]              ; #PF
        li   r1, msg_leak
        call puts
        movi r1, 1
        call exit
msg_kept:    .asciz "owner: its page kept its secret\n"
msg_changed: .asciz "LEAK: another task changed the owner's page\n"
msg_fresh:   .asciz "snoop: the same address is a fresh page of its own\n"
msg_leak:    .asciz "LEAK: a task read memory that is not its own\n"
