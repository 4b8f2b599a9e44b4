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
        sys  SYS_BENCH_PRIO
        li   r1, label
        li   r2, SCALE
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "task-priority writes: "
