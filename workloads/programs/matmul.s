; matmul — C = A x B for SCALE x SCALE integer matrices, in user mode, with
; A[i][j] = (i + 2j) mod 17 - 8 and B[i][j] = (3i + j) mod 13 - 6.
; Prints the checksum sum(C[i][j] * (i * SCALE + j + 1)) modulo 2^32.
        .ifndef SCALE
        .equ SCALE, 64
        .endif
        .assert SCALE <= 128, "matmul: SCALE must be at most 128"
        .equ MA, DZ_BASE + 0x04000000
        .equ MB, DZ_BASE + 0x04100000
        .equ MC, DZ_BASE + 0x04200000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r8, SCALE             ; n
        ; fill A and B
        movi r1, 0                 ; i
1:      cmp  r1, r8
        bge  4f
        movi r2, 0                 ; j
2:      cmp  r2, r8
        bge  3f
        mul  r3, r1, r8
        add  r3, r3, r2
        shli r3, r3, 2             ; byte offset of [i][j]
        shli r4, r2, 1
        add  r4, r4, r1
        movi r5, 17
        remu r4, r4, r5
        addi r4, r4, -8
        li   r6, MA
        add  r6, r6, r3
        stw  r4, [r6]
        muli r4, r1, 3
        add  r4, r4, r2
        movi r5, 13
        remu r4, r4, r5
        addi r4, r4, -6
        li   r6, MB
        add  r6, r6, r3
        stw  r4, [r6]
        addi r2, r2, 1
        jmp  2b
3:      addi r1, r1, 1
        jmp  1b
        ; C = A x B
4:      shli r13, r8, 2            ; row stride in bytes
        movi r1, 0                 ; i
5:      cmp  r1, r8
        bge  9f
        movi r2, 0                 ; j
6:      cmp  r2, r8
        bge  8f
        mul  r9, r1, r13
        li   r3, MA
        add  r9, r9, r3            ; &A[i][0]
        shli r10, r2, 2
        li   r3, MB
        add  r10, r10, r3          ; &B[0][j]
        movi r11, 0                ; sum
        mov  r12, r8               ; k counter
7:      ldw  r3, [r9]
        ldw  r4, [r10]
        mul  r3, r3, r4
        add  r11, r11, r3
        addi r9, r9, 4
        add  r10, r10, r13
        addi r12, r12, -1
        cmpi r12, 0
        bne  7b
        mul  r3, r1, r13
        shli r4, r2, 2
        add  r3, r3, r4
        li   r4, MC
        add  r3, r3, r4
        stw  r11, [r3]
        addi r2, r2, 1
        jmp  6b
8:      addi r1, r1, 1
        jmp  5b
        ; checksum
9:      li   r9, MC
        mul  r10, r8, r8           ; elements
        movi r11, 0                ; checksum
        movi r12, 1                ; weight = index + 1
10:     ldw  r3, [r9]
        mul  r3, r3, r12
        add  r11, r11, r3
        addi r9, r9, 4
        addi r12, r12, 1
        cmp  r12, r10
        ble  10b
        li   r1, label
        call puts
        mov  r1, r8
        call print_dec
        li   r1, label2
        mov  r2, r11
        call print_labeled_hex
        movi r1, 0
        call exit
label:  .asciz "matrix product checksum, n = "
label2: .asciz ": "
