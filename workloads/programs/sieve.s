; sieve — primes below SCALE with the sieve of Eratosthenes, in user mode (one byte per number, in
; demand-zero memory). Below 1,000,000 there are 78,498.
        .ifndef SCALE
        .equ SCALE, 1000000
        .endif
        .equ SIEVE, DZ_BASE + 0x02000000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r8, SCALE             ; n
        li   r9, SIEVE             ; composite[i] at SIEVE + i (zero = not crossed out)
        movi r10, 0                ; primes found
        movi r11, 2                ; i
        movi r5, 1
1:      cmp  r11, r8
        bge  4f
        add  r1, r9, r11
        ldb  r2, [r1]
        cmpi r2, 0
        bne  3f
        addi r10, r10, 1           ; i is prime
        divu r3, r8, r11
        cmp  r11, r3
        bgt  3f                    ; i * i >= n: nothing left to cross out
        mul  r4, r11, r11
2:      cmp  r4, r8
        bge  3f
        add  r1, r9, r4
        stb  r5, [r1]
        add  r4, r4, r11
        jmp  2b
3:      addi r11, r11, 1
        jmp  1b
4:      li   r1, label
        call puts
        mov  r1, r8
        call print_dec
        li   r1, colon
        mov  r2, r10
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "primes below "
colon:  .asciz ": "
