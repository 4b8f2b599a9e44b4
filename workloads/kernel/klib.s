; klib.s — kernel console output and memory helpers.

; r1 = NUL-terminated string. Clobbers r0..r3.
kputs:
        mov  r2, r1
1:      ldb  r3, [r2]
        cmpi r3, 0
        beq  2f
        addi r2, r2, 1
        jmp  1b
2:      sub  r3, r2, r1
        mov  r2, r1
        console_write_buffer r2, r3
        ret

; r1 = unsigned number, printed in decimal. Clobbers r0..r4.
kput_dec:
        addi sp, sp, -16
        addi r2, sp, 15
        movi r3, 0
        stb  r3, [r2]
        movi r4, 10
1:      addi r2, r2, -1
        remu r3, r1, r4
        addi r3, r3, '0'
        stb  r3, [r2]
        divu r1, r1, r4
        cmpi r1, 0
        bne  1b
        mov  r1, r2
        call kputs
        addi sp, sp, 16
        ret

; r1 = number, printed as 0x followed by 8 hex digits. Clobbers r0..r4.
kput_hex:
        addi sp, sp, -12
        mov  r2, sp
        movi r3, '0'
        stb  r3, [r2]
        movi r3, 'x'
        stb  r3, [r2 + 1]
        addi r2, r2, 2
        movi r4, 8
1:      shri r3, r1, 28
        cmpi r3, 10
        blt  2f
        addi r3, r3, 'a' - 10 - '0'
2:      addi r3, r3, '0'
        stb  r3, [r2]
        shli r1, r1, 4
        addi r2, r2, 1
        addi r4, r4, -1
        cmpi r4, 0
        bne  1b
        movi r3, 0
        stb  r3, [r2]
        mov  r1, sp
        call kputs
        addi sp, sp, 12
        ret

; memcpy(r1 = destination, r2 = source, r3 = bytes). Word copies when everything is 4-byte aligned.
; Clobbers r1..r4.
memcpy:
        or   r4, r1, r2
        or   r4, r4, r3
        andi r4, r4, 3
        cmpi r4, 0
        bne  2f
1:      cmpi r3, 0
        beq  3f
        ldw  r4, [r2]
        stw  r4, [r1]
        addi r1, r1, 4
        addi r2, r2, 4
        addi r3, r3, -4
        jmp  1b
2:      cmpi r3, 0
        beq  3f
        ldb  r4, [r2]
        stb  r4, [r1]
        addi r1, r1, 1
        addi r2, r2, 1
        addi r3, r3, -1
        jmp  2b
3:      ret
