; hostile — a bare-metal test program (no kernel): a guest "kernel" that misbehaves in one chosen way. Bare
; metal decides how each case ends; every engine must end it the same way, with the same status and message,
; and never with a host exception or a hang (test/hostile/guests.test.ts). Choose the case with a define:
;   -D SPIN=1         an endless loop with the timer ticking: stops at the instruction budget
;   -D HALT=1|2       cli; hlt (1), or sti; hlt with no device programmed (2): nothing can ever wake the CPU
;   -D DATA=1         jumps into a string: its first word decodes to an undefined opcode (#UD)
;   -D UNDEF=1|2|3    an undefined opcode / mfcr of an undefined control register / vmcall on bare metal (#UD)
;   -D DIVZERO=1      divides by zero in supervisor mode (#DE)
;   -D NO_HANDLERS=1  ... with an empty trap-vector table: the delivery fails, a triple fault
;   -D OVERFLOW=1     endless recursion with paging on: the stack runs into the unmapped guard page below it,
;                     and the page fault cannot be delivered on the same stack (triple fault)
;   -D NESTED=1       the page-fault handler faults again, every time: nested deliveries eat the stack until
;                     a frame cannot be written (the VS32 form of double fault -> triple fault)
;   -D OUTSIDE=1|2|3  paging off: reads / writes / jumps beyond the end of physical memory (machine check)
;   -D TVB_OUTSIDE=1  the trap-vector table lies beyond physical memory, then #UD (triple fault)
;   -D FRAME_OUTSIDE=1 the stack pointer lies beyond physical memory, then #UD (triple fault)
;   -D PTE_FLIP=1     not hostile, a coherence check: with the timer ticking, the kernel points one page-table
;                     entry at two frames in turn (invlpg after each store) and reads through it each time
;   -D FRAME_ON_PT=1|2 paging on, the stack inside the live page table, then #UD (1) or a call (2): the exception
;                     frame or the return address overwrites the entry of a page the guest just used (with a
;                     code address: not present); the guest invalidates the TLB entry and touches the page
;                     again, which must now page-fault
; Handlers print the exception's name and power off with 0x80 | vector.
        .equ VECTORS,  0x1000
        .equ PGDIR,    0x10000
        .equ PT,       0x11000
        .equ GUARD,    0x1f000         ; unmapped: the page below the stack
        .equ STACK_TOP, 0x22000        ; top of the stack pages 0x20000..0x21fff
        .equ RAM_END,  0x800000        ; 8 MiB, the engines' default guest RAM
        .equ PTE_PW,   3               ; present, writable (supervisor only)
        .equ PROBE,    0x1e000         ; a mapped page below the guard page
        .equ FRAME_A,  0x1c000
        .equ FRAME_B,  0x1d000

; Install a handler: the vector table's address is in r1.
.macro handle vector, handler
        li   r2, \handler
        stw  r2, [r1 + \vector * 4]
.endm

start:  li   sp, STACK_TOP
        li   r1, VECTORS
        mtcr tvb, r1
.ifndef NO_HANDLERS
        handle 0, on_de
        handle 6, on_ud
        handle 13, on_gp
        handle 14, on_pf
        handle 17, on_ac
        handle 32, on_timer
.endif

.ifdef SPIN
        call paging_on
        li   r1, 1000
        out  0x20, r1                  ; a tick every 1,000 instructions
        sti
spin_loop:
        addi r5, r5, 1
        jmp  spin_loop
.endif

.ifdef HALT
.if HALT == 1
        cli
.else
        sti                            ; interrupts on, but no device will ever raise one
.endif
hostile_at:
        hlt
.endif

.ifdef DATA
        jmp  message
.endif

.ifdef UNDEF
.if UNDEF == 1
hostile_at:
        .word 0xff000000               ; opcode 0xff is undefined
.elif UNDEF == 2
hostile_at:
        .word 0x48170000               ; mfcr r1, cr7: there is no cr7
.else
hostile_at:
        vmcall                         ; a hypercall with no hypervisor
.endif
.endif

.ifdef DIVZERO
        movi r1, 7
        movi r2, 0
hostile_at:
        div  r3, r1, r2
.endif

.ifdef OVERFLOW
        call paging_on
recurse:
        call recurse
.endif

.ifdef NESTED
        call paging_on
        li   r1, VECTORS
        handle 14, on_pf_again
        li   r1, GUARD
        ldw  r2, [r1]                  ; the first page fault
.endif

.ifdef OUTSIDE
.if OUTSIDE == 1
        li   r1, RAM_END
hostile_at:
        ldw  r2, [r1]
.elif OUTSIDE == 2
        li   r1, 0xfffffffc
hostile_at:
        stw  r2, [r1]
.else
        li   r1, RAM_END
        jmpr r1
.endif
.endif

.ifdef TVB_OUTSIDE
        li   r1, RAM_END
        mtcr tvb, r1
hostile_at:
        .word 0                        ; #UD, whose handler address cannot be read
.endif

.ifdef FRAME_OUTSIDE
        li   sp, RAM_END + 16
hostile_at:
        .word 0                        ; #UD, whose frame cannot be written
.endif

.ifdef PTE_FLIP
        call paging_on
        li   r1, 997
        out  0x20, r1                  ; a tick every 997 instructions: stores fall at every offset from them
        sti
        li   r1, FRAME_A
        movi r2, 1
        stw  r2, [r1]
        li   r1, FRAME_B
        movi r2, 2
        stw  r2, [r1]
        li   r8, PT + (PROBE >> 10)    ; the probe page's entry
        li   r10, PROBE
        li   r9, 2000
1:      li   r2, FRAME_A | PTE_PW
        stw  r2, [r8]
        invlpg r10
        ldw  r3, [r10]
        cmpi r3, 1
        bne  2f
        li   r2, FRAME_B | PTE_PW
        stw  r2, [r8]
        invlpg r10
        ldw  r3, [r10]
        cmpi r3, 2
        bne  2f
        addi r9, r9, -1
        cmpi r9, 0
        bne  1b
        li   r1, msg_coherent
        movi r2, 0
        jmp  report
2:      li   r1, msg_stale
        movi r2, 0x7d
        jmp  report
.endif

.ifdef FRAME_ON_PT
        call paging_on
        li   r1, VECTORS
        handle 6, on_ud_probe
        li   r1, PROBE
        ldw  r2, [r1]                  ; the page is mapped (and now cached in the TLB, or a shadow)
.if FRAME_ON_PT == 1
        li   sp, PT + (PROBE >> 10) + 16 ; the frame's first word (the pc) lands on the probe page's entry
        .word 0                        ; #UD
.else
        li   sp, PT + (PROBE >> 10) + 4  ; the return address lands on the probe page's entry
        call on_ud_probe
.endif
.endif

        movi r1, 0x7e                  ; not reached: every case ends above
        out  0xf0, r1
        hlt

; Identity-map 0..STACK_TOP (supervisor only) except the guard page, and turn paging on.
paging_on:
        li   r1, PGDIR
        li   r2, PT | PTE_PW
        stw  r2, [r1]
        li   r1, PT
        movi r2, PTE_PW                ; frame 0
        li   r3, GUARD | PTE_PW
        li   r4, STACK_TOP | PTE_PW
1:      cmp  r2, r3
        beq  2f
        stw  r2, [r1]
2:      addi r1, r1, 4
        addi r2, r2, 0x1000
        cmp  r2, r4
        bltu 1b
        li   r1, PGDIR
        mtcr ptbr, r1
        movi r1, 1
        mtcr ctrl, r1
        ret

on_timer:
        addi r6, r6, 1
        iret
; A handler: keep the faulting pc (from the exception frame) in r4, print the name, power off with the code.
.macro handler msg, code
        ldw  r4, [sp]
        li   r1, \msg
        movi r2, \code
        jmp  report
.endm
on_de:  handler msg_de, 0x80
on_ud:  handler msg_ud, 0x86
on_gp:  handler msg_gp, 0x8d
on_pf:  handler msg_pf, 0x8e
on_ac:  handler msg_ac, 0x91
on_ud_probe:                           ; the probe page's entry is not present any more
        li   r1, PROBE
        invlpg r1
        ldw  r2, [r1]                  ; #PF
        li   r1, msg_stale
        movi r2, 0x7d
        jmp  report
on_pf_again:
        li   r1, GUARD
again_at:
        ldw  r2, [r1]                  ; faults again, inside the handler
; Print the string at r1, power off with exit code r2.
report: ldb  r3, [r1]
        cmpi r3, 0
        beq  1f
        out  0x10, r3
        addi r1, r1, 1
        jmp  report
1:      out  0xf0, r2
        hlt

        .align 4
message: .asciz "hello"                ; as an instruction: 0x6c6c6568, opcode 0x6c (undefined)
msg_de: .asciz "divide error\n"
msg_ud: .asciz "invalid opcode\n"
msg_gp: .asciz "privilege violation\n"
msg_pf: .asciz "page fault\n"
msg_ac: .asciz "alignment check\n"
msg_stale: .asciz "LEAK: a stale translation of the probe page\n"
msg_coherent: .asciz "every read went through the current entry\n"
