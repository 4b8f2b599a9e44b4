; prio-write — the guest kernel writes the task-priority register (cr8) SCALE times
; (Adams & Agesen's "cr8wr" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 20000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r1, SCALE
        sys  SYS_BENCH_PRIO        ; returns the writes the kernel made, counted as it made them
        mov  r2, r0
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "task-priority writes: "
