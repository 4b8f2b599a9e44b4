; syscall — the null system call, SCALE times (Adams & Agesen's "syscall" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 20000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r8, SCALE
        movi r1, 0                 ; calls completed, as counted by the kernel: null(n) returns n + 1
1:      sys  SYS_NULL
        mov  r1, r0
        cmp  r1, r8
        blt  1b
        mov  r2, r1
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "null system calls: "
