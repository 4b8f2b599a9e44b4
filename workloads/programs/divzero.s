; divzero — SCALE divide-by-zero faults, each delivered to the guest kernel, which skips the faulting
; instruction and returns (Adams & Agesen's "divzero" nanobenchmark).
        .ifndef SCALE
        .equ SCALE, 10000
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   movi r1, 1
        sys  SYS_FAULTMODE         ; faults are skipped, not fatal
        li   r8, SCALE
        movi r1, 7
        movi r2, 0
1:      div  r3, r1, r2            ; #DE
        addi r8, r8, -1
        cmpi r8, 0
        bne  1b
        sys  SYS_FAULTS
        mov  r2, r0
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "divide errors handled: "
