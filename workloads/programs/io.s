; io — console and block-device heavy: SCALE rounds of writing 8 sectors (4 KiB) of a pattern to the
; disk, reading them back into another buffer, comparing, and printing a line per round.
        .ifndef SCALE
        .equ SCALE, 16
        .endif
        .equ SECTORS, 8
        .equ WORDS, SECTORS * 128
        .equ DISK_SECTORS, 256
        .equ OUT, DZ_BASE + 0x05000000
        .equ IN, DZ_BASE + 0x05010000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   movi r8, 0                 ; round
        movi r9, 0                 ; words that came back wrong
        movi r10, 0                ; checksum
1:      li   r3, SCALE
        cmp  r8, r3
        bge  5f
        ; the pattern of this round: w[i] = (round * 0x01000193) ^ (i * 0x9e3779b9)
        li   r1, OUT
        li   r2, 0x01000193
        mul  r2, r2, r8
        li   r4, 0x9e3779b9
        movi r3, 0                 ; i
2:      mul  r5, r3, r4
        xor  r5, r5, r2
        stw  r5, [r1]
        addi r1, r1, 4
        addi r3, r3, 1
        li   r6, WORDS
        cmp  r3, r6
        blt  2b
        ; write, then read back
        muli r11, r8, SECTORS
        andi r11, r11, DISK_SECTORS - 1
        mov  r1, r11
        movi r2, SECTORS
        li   r3, OUT
        sys  SYS_DISK_WRITE
        mov  r1, r11
        movi r2, SECTORS
        li   r3, IN
        sys  SYS_DISK_READ
        ; compare and fold into the checksum
        li   r1, OUT
        li   r2, IN
        li   r3, WORDS
3:      ldw  r4, [r1]
        ldw  r5, [r2]
        cmp  r4, r5
        beq  4f
        addi r9, r9, 1
4:      shli r6, r10, 5
        shri r7, r10, 27
        or   r10, r6, r7
        xor  r10, r10, r5
        addi r1, r1, 4
        addi r2, r2, 4
        addi r3, r3, -1
        cmpi r3, 0
        bne  3b
        li   r1, label_round
        call puts
        mov  r1, r8
        call print_dec
        li   r1, label_sectors
        call puts
        mov  r1, r11
        call print_dec
        li   r1, label_verified
        call puts
        addi r8, r8, 1
        jmp  1b
5:      li   r1, label_bad
        mov  r2, r9
        call print_labeled
        li   r1, label_sum
        mov  r2, r10
        call print_labeled_hex
        movi r1, 0
        call exit
label_round:    .asciz "round "
label_sectors:  .asciz ": wrote and read back 8 sectors from sector "
label_verified: .asciz ", verified\n"
label_bad:      .asciz "words that differed: "
label_sum:      .asciz "checksum: "
