; pv-abi — a test program (not a workload) for the paravirtual interface, run by the paravirt engine on its own
; (no kernel: it starts at address 0 in guest supervisor mode, "paging off"). It makes hypercalls the kernel
; never makes, or makes only correctly — unknown numbers, invalid page-table updates, multicalls — and prints
; one line per check ("FAIL: " in front when the result was wrong). Exit code: the number of failed checks.
; Near the end it drops to user mode to probe the hypervisor's user view, and last it stores to its own page
; directory, which the hypervisor maps read-only: the page-fault handler checks what the hypervisor put in the
; shared-info page and shuts the machine down.
        .include "../kernel/defs.s"
        .include "../kernel/arch.s"

        .equ STACK_TOP, 0x80000
        .equ DIR,       0x10000        ; the page directory this program builds
        .equ TABLE,     0x11000        ; its table for 0..4 MiB (identity, kernel-only)
        .equ TABLE2,    0x12000        ; a table for 4..8 MiB, added with HC_MMU_UPDATE
        .equ PAGE_A,    0x20000        ; two pages with known contents
        .equ PAGE_B,    0x21000
        .equ WINDOW,    0x400000       ; the virtual page mapped to PAGE_A, then PAGE_B
        .equ PF_PROTECTION, 1          ; page-fault error code bits (docs/isa.md, section 6)
        .equ PF_WRITE,  2
        .equ PF_USER,   4
        .equ USER_KSTACK, 0x70000      ; the kernel stack for entries from user mode
        .equ USER_CODE, 0x6000         ; the page holding user_probe

; r0 must equal `value`, else count a failure and print "FAIL: "; then print the message. Clobbers r0..r2,
; r12, r13.
.macro check value, msg
        li   r12, \value
        cmp  r0, r12
        beq  ok\@
        call fail
ok\@:   li   r1, \msg
        call print
.endm

        .org 0
start:  li   sp, STACK_TOP
        li   r1, shared
        hypercall HC_SET_SHARED
        check 0, m_shared
        li   r1, vectors
        hypercall HC_SET_TRAP_TABLE
        li   r1, vec_pf
        li   r2, vectors + VEC_PF * 4
        stw  r1, [r2]

        ; --- An unknown hypercall returns -1 and preserves every other register -----------------------
        call fill_registers
        movi r0, 99
        vmcall
        call registers_intact      ; r12 = 0 if r1..r11, r13, r14 still hold their values
        mov  r8, r12               ; (check clobbers r0..r2, r12, r13)
        check -1, m_unknown
        mov  r0, r8
        check 0, m_preserved

        ; --- Page-table updates before a directory is pinned: nothing to validate against --------------
        li   r1, upd_early
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check -1, m_early

        ; --- Build an identity map of 0..4 MiB (kernel-only) and pin it -------------------------------------
        li   r1, TABLE
        li   r2, PTE_KERNEL
        movi r3, 1024
1:      stw  r2, [r1]
        addi r1, r1, 4
        addi r2, r2, PAGE_SIZE
        addi r3, r3, -1
        cmpi r3, 0
        bne  1b
        li   r1, DIR
        li   r2, TABLE | PTE_P | PTE_W | PTE_U
        stw  r2, [r1]
        li   r1, bad_dir           ; a directory whose entry points outside RAM is refused
        li   r2, 0x7ffff000 | PTE_P | PTE_W | PTE_U
        stw  r2, [r1]
        li   r2, bad_dir
        movi r1, MMUEXT_NEW_BASEPTR
        hypercall HC_MMUEXT
        check -1, m_bad_dir
        li   r2, DIR
        movi r1, MMUEXT_NEW_BASEPTR
        hypercall HC_MMUEXT
        check 0, m_pinned
        movi r1, 7                 ; no such MMUEXT operation
        hypercall HC_MMUEXT
        check -1, m_mmuext_op

        ; --- HC_MMU_UPDATE validation ----------------------------------------------------------------------
        li   r1, upd_not_table     ; an entry outside every page-table page
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check -1, m_not_table
        li   r1, upd_outside       ; a mapping of memory outside guest RAM
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check -1, m_outside
        li   r1, upd_high_table    ; a directory entry pointing above 2 GiB (a negative word)
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check -1, m_high_table
        li   r1, upd_window        ; a new table (directory entry) and an entry in it, in one batch of 2
        movi r2, 2
        hypercall HC_MMU_UPDATE
        check 0, m_window
        li   r1, WINDOW
        ldw  r0, [r1]
        check 0xa0a0a0a0, m_read_a
        li   r1, upd_window_b      ; remap the window: no invlpg, the hypervisor keeps the TLB coherent
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check 0, m_remap
        li   r1, WINDOW
        ldw  r0, [r1]
        check 0xb0b0b0b0, m_read_b
        li   r1, upd_too_many
        li   r2, MMU_BATCH_MAX + 1
        hypercall HC_MMU_UPDATE
        check -1, m_too_many

        ; --- Multicall: several hypercalls in one entry ---------------------------------------------------
        li   r1, mc_ok
        movi r2, 3
        hypercall HC_MULTICALL
        check 0, m_multicall
        li   r1, mc_iret           ; HC_IRET cannot be part of a multicall
        movi r2, 1
        hypercall HC_MULTICALL
        check -1, m_multicall_iret

        ; --- Hypercall arguments are read through the guest's tables ------------------------------------------
        li   r1, 0x7ff00000        ; not mapped
        movi r2, 4
        hypercall HC_CONSOLE_WRITE
        check -1, m_console_unmapped

        ; --- A page that stops being a page table is the guest's again -----------------------------------
        li   r1, upd_unmap_window  ; TABLE2 leaves the directory: its mapping gets W back
        movi r2, 1
        hypercall HC_MMU_UPDATE
        check 0, m_unmapped
        li   r1, TABLE2
        movi r2, 0
        stw  r2, [r1]              ; no fault
        li   r1, m_table2_writable
        call print

        ; --- The user view: guest user code sees what is not kernel-only, coherently with every update ------
        li   r1, USER_KSTACK
        hypercall HC_STACK_SWITCH
        li   r1, upd_user          ; make the probe's code page and PAGE_A user pages (no PTE_KONLY)
        movi r2, 2
        hypercall HC_MMU_UPDATE
        check 0, m_user_pages
        movi r1, 0                 ; "return" to user_probe in user mode: r0, then PC, FLAGS, MODE, SP
        push r1                    ; SP
        movi r1, 1
        push r1                    ; MODE = user
        movi r1, 0
        push r1                    ; FLAGS: IF = 0 (events stay masked)
        li   r1, user_probe
        push r1                    ; PC
        push r0
        movi r0, HC_IRET
        vmcall                     ; continues at pf_user, after the probe's page fault
after_user:

        ; --- Page tables are read-only to the guest: this store faults (see vec_pf) ------------------------
        li   r1, DIR + 8
        movi r2, 0
pt_store:
        stw  r2, [r1]
        call fail                  ; not reached
        li   r1, m_pt_writable
        call print
        jmp  shutdown

vec_pf: ldw  r9, [sp + 8]          ; the frame's MODE
        cmpi r9, 1
        beq  pf_user
        li   r12, shared
        ldw  r0, [r12 + SH_ECODE]
        check PF_PROTECTION | PF_WRITE, m_pf_code
        li   r12, shared
        ldw  r0, [r12 + SH_CR2]
        check DIR + 8, m_pf_addr
        ldw  r0, [sp]              ; the frame's PC
        check pt_store, m_pf_pc
        li   r12, shared
        ldw  r0, [r12 + SH_MASK]
        check 1, m_pf_masked
shutdown:
        li   r1, failures
        ldw  r1, [r1]
        hypercall HC_SHUTDOWN

; The user probe's fault: it read PAGE_A (into r3), then faulted reading the kernel-only page directory.
pf_user:
        li   r12, shared
        ldw  r0, [r12 + SH_ECODE]
        check PF_PROTECTION | PF_USER, m_user_code
        li   r12, shared
        ldw  r0, [r12 + SH_CR2]
        check DIR, m_user_addr
        ldw  r0, [sp]
        check probe_at, m_user_pc
        mov  r0, r3
        check 0xa0a0a0a0, m_user_read
        li   sp, STACK_TOP         ; back to the kernel's tests (the frame is dropped)
        jmp  after_user

; --- Helpers ----------------------------------------------------------------------------------------------

; r1 = NUL-terminated string: write it with one HC_CONSOLE_WRITE. Clobbers r0..r2.
print:  mov  r2, r1
1:      ldb  r0, [r2]
        cmpi r0, 0
        beq  2f
        addi r2, r2, 1
        jmp  1b
2:      sub  r2, r2, r1
        hypercall HC_CONSOLE_WRITE
        ret

; Count a failed check and print "FAIL: ".
fail:   li   r12, failures
        ldw  r13, [r12]
        addi r13, r13, 1
        stw  r13, [r12]
        push r1
        li   r1, m_fail
        call print
        pop  r1
        ret

; rN = N * 0x01010101 for N = 1..11, 13, 14 (r12 is the macros' scratch register, r15 the stack).
fill_registers:
        li   r1, 0x01010101
        li   r2, 0x02020202
        li   r3, 0x03030303
        li   r4, 0x04040404
        li   r5, 0x05050505
        li   r6, 0x06060606
        li   r7, 0x07070707
        li   r8, 0x08080808
        li   r9, 0x09090909
        li   r10, 0x0a0a0a0a
        li   r11, 0x0b0b0b0b
        li   r13, 0x0d0d0d0d
        li   r14, 0x0e0e0e0e
        ret

; r12 = 0 if the registers still hold what fill_registers put there, else 1. Preserves r0.
registers_intact:
        movi r12, 1
        push r0
        li   r0, 0x01010101
        cmp  r1, r0
        bne  1f
        li   r0, 0x02020202
        cmp  r2, r0
        bne  1f
        li   r0, 0x03030303
        cmp  r3, r0
        bne  1f
        li   r0, 0x04040404
        cmp  r4, r0
        bne  1f
        li   r0, 0x05050505
        cmp  r5, r0
        bne  1f
        li   r0, 0x06060606
        cmp  r6, r0
        bne  1f
        li   r0, 0x07070707
        cmp  r7, r0
        bne  1f
        li   r0, 0x08080808
        cmp  r8, r0
        bne  1f
        li   r0, 0x09090909
        cmp  r9, r0
        bne  1f
        li   r0, 0x0a0a0a0a
        cmp  r10, r0
        bne  1f
        li   r0, 0x0b0b0b0b
        cmp  r11, r0
        bne  1f
        li   r0, 0x0d0d0d0d
        cmp  r13, r0
        bne  1f
        li   r0, 0x0e0e0e0e
        cmp  r14, r0
        bne  1f
        movi r12, 0
1:      pop  r0
        ret

; --- Data -------------------------------------------------------------------------------------------------
        .align 4
failures:       .word 0
upd_early:      .word TABLE, 0
upd_not_table:  .word PAGE_A, 0
upd_outside:    .word TABLE + 4 * 5, 0x7fff0000 | PTE_P | PTE_W | PTE_U
upd_high_table: .word DIR + 4 * 2, 0x80000000 | PTE_P | PTE_W | PTE_U
upd_window:     .word DIR + 4 * (WINDOW >> 22), TABLE2 | PTE_P | PTE_W | PTE_U
                .word TABLE2, PAGE_A | PTE_P | PTE_W | PTE_U
upd_window_b:   .word TABLE2, PAGE_B | PTE_P | PTE_W | PTE_U
upd_too_many:   .word 0
upd_unmap_window: .word DIR + 4 * (WINDOW >> 22), 0
upd_user:       .word TABLE + 4 * (USER_CODE >> 12), USER_CODE | PTE_P | PTE_W | PTE_U
                .word TABLE + 4 * (PAGE_A >> 12), PAGE_A | PTE_P | PTE_W | PTE_U
mc_ok:          .word HC_CONSOLE_WRITE, m_mc1, 11, 0
                .word HC_PORT_OUT, PORT_CONSOLE, '>', 0
                .word HC_CONSOLE_WRITE, m_mc2, 11, 0
mc_iret:        .word HC_IRET, 0, 0, 0

m_fail:         .asciz "FAIL: "
m_shared:       .asciz "shared-info page registered\n"
m_unknown:      .asciz "unknown hypercall: -1\n"
m_preserved:    .asciz "unknown hypercall: registers preserved\n"
m_early:        .asciz "page-table update before pinning: -1\n"
m_bad_dir:      .asciz "directory mapping outside RAM: -1\n"
m_pinned:       .asciz "directory pinned\n"
m_mmuext_op:    .asciz "unknown mmuext operation: -1\n"
m_not_table:    .asciz "update outside the page tables: -1\n"
m_outside:      .asciz "update mapping outside RAM: -1\n"
m_high_table:   .asciz "directory entry above 2 GiB: -1\n"
m_window:       .asciz "new table and entry in one batch: 0\n"
m_read_a:       .asciz "read through the new mapping\n"
m_remap:        .asciz "remapped: 0\n"
m_read_b:       .asciz "read through the remapped entry, no invlpg\n"
m_too_many:     .asciz "batch larger than MMU_BATCH_MAX: -1\n"
m_mc1:          .asciz "multicall 1"
m_mc2:          .asciz "multicall 3"
m_multicall:    .asciz "\nmulticall: 0\n"
m_multicall_iret: .asciz "multicall with HC_IRET: -1\n"
m_console_unmapped: .asciz "console write from an unmapped buffer: -1\n"
m_pt_writable:  .asciz "page directory was writable\n"
m_unmapped:     .asciz "window table unmapped: 0\n"
m_table2_writable: .asciz "a page that stopped being a page table is writable again\n"
m_user_pages:   .asciz "user pages: 0\n"
m_user_code:    .asciz "user read of a kernel-only page: protection fault, user mode\n"
m_user_addr:    .asciz "SH_CR2 = the kernel-only address\n"
m_user_pc:      .asciz "frame PC = the user load\n"
m_user_read:    .asciz "user read of a user page through the updated view\n"
m_pf_code:      .asciz "store to the page directory: protection fault\n"
m_pf_addr:      .asciz "SH_CR2 = the address\n"
m_pf_pc:        .asciz "frame PC = the store\n"
m_pf_masked:    .asciz "events masked in the handler\n"

        .org 0x3000
vectors:        .space 256 * 4
        .org 0x4000
shared:         .space PAGE_SIZE
        .org 0x5000
bad_dir:        .space PAGE_SIZE
        .org USER_CODE
user_probe:
        li   r1, PAGE_A
        ldw  r3, [r1]              ; a user page
        li   r1, DIR
probe_at:
        ldw  r2, [r1]              ; kernel-only: #PF
        jmp  probe_at              ; not reached
        .org PAGE_A
        .space PAGE_SIZE, 0xa0
        .org PAGE_B
        .space PAGE_SIZE, 0xb0
