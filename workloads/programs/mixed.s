; mixed — a little of everything, the "kernel compile" of this suite. A compute task (sieve and CRC) and a
; system task (system calls, demand-zero faults, disk transfers, divide faults, critical sections) run
; side by side under the timer; the compute task prints both tasks' results when both are done.
        .ifndef SCALE
        .equ SCALE, 4
        .endif
        .equ SIEVE_N, 20000 * SCALE
        .equ SIEVE, DZ_BASE + 0x06000000
        .equ PAGES, DZ_BASE + 0x07000000
        .equ DBUF, DZ_BASE + 0x07800000
        .align 4
user_tasks:
        .word compute, 0, system, 0
        .word 0
mx_done:   .word 0
mx_calls:  .word 0
mx_pages:  .word 0
mx_disk:   .word 0
mx_faults: .word 0

compute:
        ; primes below SIEVE_N
        li   r8, SIEVE_N
        li   r9, SIEVE
        movi r10, 0
        movi r11, 2
        movi r5, 1
1:      cmp  r11, r8
        bge  4f
        add  r1, r9, r11
        ldb  r2, [r1]
        cmpi r2, 0
        bne  3f
        addi r10, r10, 1
        divu r3, r8, r11
        cmp  r11, r3
        bgt  3f
        mul  r4, r11, r11
2:      cmp  r4, r8
        bge  3f
        add  r1, r9, r4
        stb  r5, [r1]
        add  r4, r4, r11
        jmp  2b
3:      addi r11, r11, 1
        jmp  1b
4:      mov  r13, r10              ; primes
        ; a simple checksum over the sieve (bitwise CRC, no table)
        li   r1, SIEVE
        li   r2, SIEVE_N
        movi r0, -1
        li   r6, 0xedb88320
5:      cmpi r2, 0
        beq  8f
        ldb  r3, [r1]
        xor  r0, r0, r3
        movi r4, 8
6:      andi r3, r0, 1
        shri r0, r0, 1
        cmpi r3, 0
        beq  7f
        xor  r0, r0, r6
7:      addi r4, r4, -1
        cmpi r4, 0
        bne  6b
        addi r1, r1, 1
        addi r2, r2, -1
        jmp  5b
8:      not  r12, r0               ; crc
        ; wait for the system task
9:      li   r1, mx_done
        ldw  r1, [r1]
        cmpi r1, 0
        bne  10f
        sys  SYS_YIELD
        jmp  9b
10:     li   r1, l_primes
        mov  r2, r13
        call print_labeled
        li   r1, l_crc
        mov  r2, r12
        call print_labeled_hex
        li   r1, l_calls
        li   r2, mx_calls
        ldw  r2, [r2]
        call print_labeled
        li   r1, l_pages
        li   r2, mx_pages
        ldw  r2, [r2]
        call print_labeled
        li   r1, l_disk
        li   r2, mx_disk
        ldw  r2, [r2]
        call print_labeled
        li   r1, l_faults
        li   r2, mx_faults
        ldw  r2, [r2]
        call print_labeled
        movi r1, 0
        call exit

system:
        ; null system calls
        li   r8, 500 * SCALE
        movi r1, 0                 ; calls completed, as counted by the kernel: null(n) returns n + 1
1:      sys  SYS_NULL
        mov  r1, r0
        cmp  r1, r8
        blt  1b
        mov  r2, r1
        li   r1, mx_calls
        stw  r2, [r1]
        ; demand-zero pages, touched then released, twice
        movi r9, 0                 ; pages touched
        movi r10, 2
2:      li   r1, PAGES
        li   r8, 32 * SCALE
3:      stw  r8, [r1]
        addi r9, r9, 1
        li   r2, PAGE_SIZE
        add  r1, r1, r2
        addi r8, r8, -1
        cmpi r8, 0
        bne  3b
        li   r1, PAGES
        li   r2, 32 * SCALE
        sys  SYS_RELEASE
        addi r10, r10, -1
        cmpi r10, 0
        bne  2b
        li   r1, mx_pages
        stw  r9, [r1]
        ; disk: write a sector, read it back, SCALE times
        movi r8, 0
        movi r9, 0                 ; sectors that came back right
4:      li   r1, DBUF
        stw  r8, [r1]
        mov  r1, r8
        movi r2, 1
        li   r3, DBUF
        sys  SYS_DISK_WRITE
        li   r1, DBUF
        movi r2, -1
        stw  r2, [r1]
        mov  r1, r8
        movi r2, 1
        li   r3, DBUF
        sys  SYS_DISK_READ
        li   r1, DBUF
        ldw  r2, [r1]
        cmp  r2, r8
        bne  5f
        addi r9, r9, 1
5:      addi r8, r8, 1
        li   r3, SCALE
        cmp  r8, r3
        blt  4b
        li   r1, mx_disk
        stw  r9, [r1]
        ; divide faults, skipped by the kernel
        movi r1, 1
        sys  SYS_FAULTMODE
        li   r8, 50 * SCALE
        movi r1, 1
        movi r2, 0
6:      div  r3, r1, r2
        addi r8, r8, -1
        cmpi r8, 0
        bne  6b
        sys  SYS_FAULTS
        li   r1, mx_faults
        stw  r0, [r1]
        ; critical sections until 2 ticks
        movi r1, 2
        sys  SYS_CRIT
        li   r1, mx_done
        movi r2, 1
        stw  r2, [r1]
        movi r1, 0
        call exit

l_primes: .asciz "primes: "
l_crc:    .asciz "sieve crc32: "
l_calls:  .asciz "system calls: "
l_pages:  .asciz "pages touched: "
l_disk:   .asciz "disk sectors verified: "
l_faults: .asciz "divide faults skipped: "
