; faults — a test program (not a workload): four tasks that each commit a different fault from user mode,
; and one that survives. The kernel must kill each faulting task with a message, not the machine.
        .align 4
user_tasks:
        .word t_priv, 0, t_undef, 0, t_kernel_read, 0, t_divide, 0, t_survivor, 0
        .word 0
t_priv:
priv_at:
        cli                        ; privileged: #GP
t_undef:
undef_at:
        .word 0                    ; opcode 0 is undefined: #UD
t_kernel_read:
        li   r1, 0x3000            ; kernel text: not user-accessible
read_at:
        ldw  r2, [r1]              ; #PF (protection)
t_divide:
        movi r1, 1
        movi r2, 0
divide_at:
        div  r3, r1, r2            ; #DE
t_survivor:
        movi r1, 2
        sys  SYS_SLEEP             ; let the others die first
        li   r1, message
        call puts
        movi r1, 0
        call exit
message: .asciz "survivor: still running\n"
