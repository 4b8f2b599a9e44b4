; panic — a test program (not a workload): a task hands the kernel a buffer address where nothing is mapped,
; and the kernel, copying disk data there on its behalf, faults in supervisor mode. A fault in the kernel is a
; panic: a message naming the fault and the kernel pc, then power off with exit code 255 — under every engine
; as on bare metal (test/hostile/guests.test.ts).
        .align 4
user_tasks:
        .word t_wild_buffer, 0
        .word 0
t_wild_buffer:
        movi r1, 0                 ; sector
        movi r2, 1                 ; one sector
        li   r3, 0x30000000        ; the "buffer": unmapped
        sys  SYS_DISK_READ
        li   r1, p_survived
        call puts
        movi r1, 1
        call exit
p_survived: .asciz "the kernel survived a wild buffer\n"
