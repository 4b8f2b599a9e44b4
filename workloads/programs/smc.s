; smc — self-modifying code. SCALE times, user code rewrites the immediate of one of its own instructions
; and runs it; then the kernel does the same to one of its own (SYS_BENCH_SMC), which is what makes a
; binary translator invalidate its cached translation. Each sum is that of (i mod 0x8000) for i = 1..SCALE.
        .ifndef SCALE
        .equ SCALE, 2000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   movi r9, 0                 ; the sum that `patched` accumulates
        movi r8, 0                 ; i
        li   r10, patched
        lui  r11, 0xffff           ; keeps opcode and registers
1:      li   r3, SCALE
        cmp  r8, r3
        bge  2f
        addi r8, r8, 1
        ldw  r2, [r10]
        and  r2, r2, r11
        andi r3, r8, 0x7fff
        or   r2, r2, r3
        stw  r2, [r10]             ; rewrite the instruction...
        call patched               ; ...and run it
        jmp  1b
2:      li   r1, label_user
        mov  r2, r9
        call print_labeled
        li   r1, SCALE
        sys  SYS_BENCH_SMC
        mov  r2, r0
        li   r1, label_kernel
        call print_labeled
        movi r1, 0
        call exit
patched:
        addi r9, r9, 0
        ret
label_user:   .asciz "user code rewritten and run, sum: "
label_kernel: .asciz "kernel code rewritten and run, sum: "
