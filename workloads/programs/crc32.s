; crc32 — CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320, table-driven) of "123456789", which must be
; 0xcbf43926, then of SCALE bytes of the pattern b[i] = (31 * i + 7) mod 256. User mode only.
        .ifndef SCALE
        .equ SCALE, 262144
        .endif
        .equ TABLE, DZ_BASE + 0x03000000
        .equ BUF, DZ_BASE + 0x03100000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   ; the 256-entry table
        li   r9, TABLE
        li   r10, 0xedb88320
        movi r8, 0
1:      mov  r1, r8
        movi r2, 8
2:      andi r3, r1, 1
        shri r1, r1, 1
        cmpi r3, 0
        beq  3f
        xor  r1, r1, r10
3:      addi r2, r2, -1
        cmpi r2, 0
        bne  2b
        shli r3, r8, 2
        add  r3, r3, r9
        stw  r1, [r3]
        addi r8, r8, 1
        cmpi r8, 256
        blt  1b
        ; the check value
        li   r1, check_string
        movi r2, 9
        call crc32
        mov  r2, r0
        li   r1, label_check
        call print_labeled_hex
        ; the pattern buffer
        li   r1, BUF
        li   r2, SCALE
        movi r3, 7                 ; 31 * i + 7, mod 256
4:      cmpi r2, 0
        beq  5f
        stb  r3, [r1]
        addi r3, r3, 31
        andi r3, r3, 0xff
        addi r1, r1, 1
        addi r2, r2, -1
        jmp  4b
5:      li   r1, BUF
        li   r2, SCALE
        call crc32
        mov  r8, r0
        li   r1, label_big
        call puts
        li   r1, SCALE
        call print_dec
        li   r1, label_bytes
        mov  r2, r8
        call print_labeled_hex
        movi r1, 0
        call exit

; r1 = buffer, r2 = length -> r0 = CRC-32
crc32:  movi r0, -1
        li   r4, TABLE
1:      cmpi r2, 0
        beq  2f
        ldb  r3, [r1]
        xor  r3, r3, r0
        andi r3, r3, 0xff
        shli r3, r3, 2
        add  r3, r3, r4
        ldw  r3, [r3]
        shri r0, r0, 8
        xor  r0, r0, r3
        addi r1, r1, 1
        addi r2, r2, -1
        jmp  1b
2:      not  r0, r0
        ret

check_string: .ascii "123456789"
label_check:  .asciz "crc32 of \"123456789\": "
label_big:    .asciz "crc32 of "
label_bytes:  .asciz " pattern bytes: "
