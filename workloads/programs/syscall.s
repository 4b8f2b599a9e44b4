; syscall — the null system call, SCALE times (Adams & Agesen's "syscall" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 20000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r8, SCALE
1:      sys  SYS_NULL
        addi r8, r8, -1
        cmpi r8, 0
        bne  1b
        li   r1, label
        li   r2, SCALE
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "null system calls: "
