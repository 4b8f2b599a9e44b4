; call-ret — SCALE calls and returns in user mode (Adams & Agesen's "call/ret" nanobenchmark):
; no virtualization cost at all, unless an engine interprets user code.
        .ifndef SCALE
        .equ SCALE, 200000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r8, SCALE
        movi r9, 0
1:      call leaf
        addi r8, r8, -1
        cmpi r8, 0
        bne  1b
        li   r1, label
        mov  r2, r9
        call print_labeled
        movi r1, 0
        call exit
leaf:   addi r9, r9, 1
        ret
label:  .asciz "calls returned: "
