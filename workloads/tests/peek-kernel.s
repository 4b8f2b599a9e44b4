; peek-kernel — a test program (not a workload): user tasks try to reach guest kernel memory and the
; hypervisor, and each must be killed exactly as on bare metal. Under paravirt this is the test of ring
; compression: the paravirtual kernel runs in user mode, so its pages are user-accessible to the hardware, and
; only the hypervisor's user view (kernel-only entries left out) keeps guest user code away from them.
        .align 4
user_tasks:
        .word t_read_kernel, 0, t_mask_events, 0, t_read_pgdir, 0, t_hypercall, 0, t_survivor, 0
        .word 0
t_read_kernel:
        li   r1, ticks             ; kernel data
read_at:
        ldw  r2, [r1]              ; #PF: kernel memory
        jmp  leaked
t_mask_events:
        li   r1, SHINFO            ; the shared-info page: user code must not mask the kernel's events
        movi r2, 1
mask_at:
        stw  r2, [r1]              ; #PF
        jmp  leaked
t_read_pgdir:
        li   r1, PGDIR             ; the kernel's page directory
pgdir_at:
        ldw  r2, [r1]              ; #PF
        jmp  leaked
t_hypercall:
        movi r0, HC_SHUTDOWN       ; only the guest kernel may call the hypervisor
        movi r1, 0
hypercall_at:
        vmcall                     ; #UD, as on bare metal
        jmp  leaked
leaked:
        li   r1, msg_leak
        call puts
        movi r1, 1
        call exit
t_survivor:
        movi r1, 2
        sys  SYS_SLEEP             ; let the others die first
        li   r1, msg_ok
        call puts
        movi r1, 0
        call exit
msg_leak: .asciz "LEAK: user code reached kernel memory or the hypervisor\n"
msg_ok:   .asciz "survivor: kernel memory stayed private\n"
