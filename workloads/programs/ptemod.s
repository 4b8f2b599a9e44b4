; ptemod — the guest kernel rewrites a page-table entry and invalidates its TLB entry, SCALE times
; (Adams & Agesen's "ptemod" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 10000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r1, SCALE
        sys  SYS_BENCH_PTE         ; returns the updates the kernel made, counted as it made them
        mov  r2, r0
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "page-table entry updates: "
