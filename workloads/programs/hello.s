; hello — the smallest workload: one user task prints a line through the write system call.
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r1, message
        call puts
        movi r1, 0
        call exit
message: .asciz "Hello from user mode!\n"
