; pgfault — SCALE true (demand-zero) page faults: touch fresh pages of a 64-page window, release the
; window (unmap + TLB invalidation) and touch it again. Every fresh page must read as zero.
        .ifndef SCALE
        .equ SCALE, 2000
        .endif
        .equ WINDOW, 64
        .equ AREA, DZ_BASE + 0x01000000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   movi r8, 0                 ; page number
        movi r9, 0                 ; pages that were not zero
        li   r10, AREA
1:      li   r3, SCALE
        cmp  r8, r3
        bge  3f
        andi r4, r8, WINDOW - 1
        shli r4, r4, 12
        add  r4, r4, r10
        ldw  r5, [r4 + 8]          ; the first touch faults; a fresh page reads 0
        cmpi r5, 0
        beq  2f
        addi r9, r9, 1
2:      stw  r8, [r4 + 8]
        addi r8, r8, 1
        andi r4, r8, WINDOW - 1
        cmpi r4, 0
        bne  1b
        mov  r1, r10               ; the window is full: give it back
        movi r2, WINDOW
        sys  SYS_RELEASE
        jmp  1b
3:      li   r1, label
        mov  r2, r8
        call print_labeled
        li   r1, label_bad
        mov  r2, r9
        call print_labeled
        movi r1, 0
        call exit
label:     .asciz "pages touched: "
label_bad: .asciz "pages not zeroed: "
