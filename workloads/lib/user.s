; user.s — the user-side library: system-call wrappers and console output.
; Assembled after the kernel (so defs.s is known) at USER_BASE, before the program.
; System calls preserve every register except r0. The helpers below follow the kernel's calling
; convention: arguments r1..r4, result r0, r0..r7 clobbered, r8..r13 preserved.

.macro sys num
        movi r0, \num
        syscall
.endm

exit:                              ; r1 = exit code; does not return
        sys  SYS_EXIT

write:                             ; r1 = buffer, r2 = length -> r0
        sys  SYS_WRITE
        ret

; r1 = NUL-terminated string.
puts:
        mov  r2, r1
1:      ldb  r3, [r2]
        cmpi r3, 0
        beq  2f
        addi r2, r2, 1
        jmp  1b
2:      sub  r2, r2, r1
        sys  SYS_WRITE
        ret

; r1 = one character.
putc:
        addi sp, sp, -4
        stb  r1, [sp]
        mov  r1, sp
        movi r2, 1
        sys  SYS_WRITE
        addi sp, sp, 4
        ret

; r1 = unsigned number, in decimal.
print_dec:
        addi sp, sp, -16
        addi r2, sp, 15
        movi r4, 10
        movi r5, 0
1:      addi r2, r2, -1
        addi r5, r5, 1
        remu r3, r1, r4
        addi r3, r3, '0'
        stb  r3, [r2]
        divu r1, r1, r4
        cmpi r1, 0
        bne  1b
        mov  r1, r2
        mov  r2, r5
        sys  SYS_WRITE
        addi sp, sp, 16
        ret

; r1 = number, as 0x and 8 hex digits.
print_hex:
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
        mov  r1, sp
        movi r2, 10
        sys  SYS_WRITE
        addi sp, sp, 12
        ret

; print(r1 = label string, r2 = number): "<label><decimal>\n"
print_labeled:
        push r8
        mov  r8, r2
        call puts
        mov  r1, r8
        call print_dec
        movi r1, '\n'
        call putc
        pop  r8
        ret

; Same with the number in hex.
print_labeled_hex:
        push r8
        mov  r8, r2
        call puts
        mov  r1, r8
        call print_hex
        movi r1, '\n'
        call putc
        pop  r8
        ret
