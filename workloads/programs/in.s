; in — the guest kernel reads an I/O port SCALE times (Adams & Agesen's "in" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 20000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r1, SCALE
        sys  SYS_BENCH_IN          ; returns the sum of the values read (the status port reads 1)
        mov  r2, r0
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "console status port reads, summed: "
