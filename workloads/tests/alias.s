; alias — a test program (not a workload): one page of code mapped at two virtual addresses, called through both.
; Its code computes with its own address (a call pushes the return address), so the two runs must give different
; results: a translator that reused the translation made at the first address for the second would not
; (test/engines/dbt.test.ts). Bare metal, supervisor mode; paging maps the first 64 KiB one to one, and virtual
; page 5 onto the frame of page 3 as well.
        .equ PGDIR, 0x10000
        .equ PT,    0x11000
start:  li   sp, 0x9000
        li   r1, PGDIR
        li   r2, PT | 3             ; present, writable
        stw  r2, [r1]
        li   r1, PT
        movi r2, 3                  ; page 0 -> frame 0, present and writable
        movi r3, 16
1:      stw  r2, [r1]
        addi r1, r1, 4
        addi r2, r2, 0x1000
        addi r3, r3, -1
        cmpi r3, 0
        bne  1b
        li   r1, PT
        li   r2, 0x3000 | 3
        stw  r2, [r1 + 20]          ; virtual page 5 -> frame 3 too
        li   r1, PGDIR
        mtcr ptbr, r1
        movi r1, 1
        mtcr ctrl, r1               ; paging on
        li   r7, 0x3000
        callr r7                    ; r5 = 0x3004: the return address of the call in f, as seen at 0x3000
        mov  r8, r5
        li   r7, 0x5000
        callr r7                    ; r5 = 0x5004: the same code, run at 0x5000
        mov  r9, r5
        movi r3, 0
        out  0xf0, r3
        .org 0x3000
f:      call h
        ret
h:      ldw  r5, [sp]
        ret
