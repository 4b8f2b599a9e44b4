; arch.s — every sensitive operation of the kernel, as macros. THE ONLY FILE THAT DIFFERS BETWEEN BUILDS.
;
; The native build (bare metal) expands each macro to the privileged or sensitive instructions a real kernel
; uses. The paravirtual build (assembled with PARAVIRT defined) expands the same macro to a hypercall
; (`vmcall`, number in r0) or to a plain memory access to the shared-info page, as a Xen guest does.
; docs/paravirt.md documents the hypercall ABI.
;
; Register contract, the same in both builds: a macro may clobber r12, r13 and the condition flags, and
; writes only its declared output register. Everything else is preserved.

; --- The paravirtual interface -----------------------------------------------------------------
        .equ HC_CONSOLE_WRITE,  0   ; r1 = buffer (virtual), r2 = length          -> r0 = length
        .equ HC_SET_TRAP_TABLE, 1   ; r1 = trap-vector table (virtual)
        .equ HC_STACK_SWITCH,   2   ; r1 = kernel stack for entries from user mode
        .equ HC_SET_TIMER,      3   ; r1 = period in instructions (0 stops)
        .equ HC_IRET,           4   ; [sp] = saved r0, then the exception frame: return from an exception
        .equ HC_BLOCK,          5   ; unmask events and wait for one; returns masked, after delivering it
        .equ HC_MMU_UPDATE,     6   ; r1 = list of (entry physical address, new value) pairs, r2 = count
        .equ HC_MMUEXT,         7   ; r1 = operation (below), r2 = argument
        .equ HC_EVENT_CHECK,    8   ; deliver pending events now (after unmasking found one pending)
        .equ HC_PORT_IN,        9   ; r1 = port                                    -> r0 = value
        .equ HC_PORT_OUT,      10   ; r1 = port, r2 = value
        .equ HC_SHUTDOWN,      11   ; r1 = exit code
        .equ HC_DISK_IO,       12   ; r1 = request (virtual): cmd, sector, count, buffer (physical); completion raises the disk event
        .equ HC_MULTICALL,     13   ; r1 = list of (number, arg1, arg2, arg3), r2 = count
        .equ HC_SET_SHARED,    14   ; r1 = shared-info page (virtual)
        .equ MMUEXT_INVLPG,     0   ;   invalidate the translation of virtual address r2
        .equ MMUEXT_NEW_BASEPTR, 1  ;   switch to page directory r2 (physical) with paging on; validates it
        ; Shared-info page (at SHINFO), read and written by guest and hypervisor without any trap:
        .equ SH_MASK,    0          ; 1 = events masked (the virtual IF = 0)
        .equ SH_PENDING, 4          ; 1 = an event is waiting
        .equ SH_TPR,     8          ; virtual task priority (as cr8)
        .equ SH_CR2,    12          ; address of the last page fault (as cr2)
        .equ SH_ECODE,  16          ; error code of the last exception (as cr5)
        .equ MMU_BATCH_MAX, 64      ; entries in the page-table update batch

.macro hypercall num
        movi r0, \num
        vmcall
.endm

; A one-argument hypercall that preserves r0 and r1 (what the native instruction it replaces preserves).
.macro hypercall1 num, arg
        push r0
        push r1
        mov  r1, \arg
        hypercall \num
        pop  r1
        pop  r0
.endm

; After unmasking: if an event arrived while masked, ask for it now (the only hypervisor entry of unmasking).
.macro pv_unmasked_check
        li   r12, SHINFO
        ldw  r13, [r12 + SH_PENDING]
        cmpi r13, 0
        beq  pvu\@
        push r0
        hypercall HC_EVENT_CHECK
        pop  r0
pvu\@:
.endm

; --- Interrupt masking ------------------------------------------------------------------------

; Save the interrupt state on the stack and disable interrupts (Linux: local_irq_save).
.macro irq_save
.ifdef PARAVIRT
        li   r12, SHINFO
        ldw  r13, [r12 + SH_MASK]
        push r13
        movi r13, 1
        stw  r13, [r12 + SH_MASK]
.else
        pushf
        cli
.endif
.endm

; Restore the interrupt state saved by irq_save (Linux: local_irq_restore). On bare metal this is popf —
; the instruction that silently does nothing to IF in user mode.
.macro irq_restore
.ifdef PARAVIRT
        pop  r13
        li   r12, SHINFO
        stw  r13, [r12 + SH_MASK]
        cmpi r13, 0
        bne  pvr\@
        pv_unmasked_check
pvr\@:
.else
        popf
.endif
.endm

.macro irq_disable
.ifdef PARAVIRT
        li   r12, SHINFO
        movi r13, 1
        stw  r13, [r12 + SH_MASK]
.else
        cli
.endif
.endm

.macro irq_enable
.ifdef PARAVIRT
        li   r12, SHINFO
        movi r13, 0
        stw  r13, [r12 + SH_MASK]
        pv_unmasked_check
.else
        sti
.endif
.endm

; Wait for an interrupt with interrupts disabled before and after: enable-and-halt is atomic because sti
; holds interrupts off for one more instruction (the interrupt shadow). The interrupt is handled before
; this returns.
.macro cpu_idle
.ifdef PARAVIRT
        push r0
        hypercall HC_BLOCK
        pop  r0
        li   r12, SHINFO           ; masked again, like the cli after hlt
        movi r13, 1
        stw  r13, [r12 + SH_MASK]
.else
        sti
        hlt
        cli
.endif
.endm

; Return from an exception: pop the frame (PC, FLAGS, MODE, SP).
.macro return_from_trap
.ifdef PARAVIRT
        push r0
        movi r0, HC_IRET
        vmcall
.else
        iret
.endif
.endm

; --- Control registers --------------------------------------------------------------------------

.macro set_trap_table reg
.ifdef PARAVIRT
        hypercall1 HC_SET_TRAP_TABLE, \reg
.else
        mtcr tvb, \reg
.endif
.endm

.macro set_kernel_stack reg
.ifdef PARAVIRT
        hypercall1 HC_STACK_SWITCH, \reg
.else
        mtcr ksp, \reg
.endif
.endm

; Switch to another page directory (an address-space switch). Paravirtual: the hypervisor validates the
; directory and its tables, then switches.
.macro set_ptbr reg
.ifdef PARAVIRT
        push r0
        push r1
        push r2
        mov  r2, \reg
        movi r1, MMUEXT_NEW_BASEPTR
        hypercall HC_MMUEXT
        pop  r2
        pop  r1
        pop  r0
.else
        mtcr ptbr, \reg
.endif
.endm

; Load a page directory and turn paging on.
.macro enable_paging reg
.ifdef PARAVIRT
        set_ptbr \reg             ; pinning a directory turns paging on
.else
        mtcr ptbr, \reg
        movi r13, 1
        mtcr ctrl, r13
.endif
.endm

.macro set_tpr reg
.ifdef PARAVIRT
        li   r12, SHINFO
        stw  \reg, [r12 + SH_TPR]
        ldw  r13, [r12 + SH_MASK]  ; masked: nothing can be delivered now; the unmasking store will check
        cmpi r13, 0
        bne  pvt\@
        pv_unmasked_check
pvt\@:
.else
        mtcr tpr, \reg
.endif
.endm

.macro get_faultaddr out
.ifdef PARAVIRT
        li   r12, SHINFO
        ldw  \out, [r12 + SH_CR2]
.else
        mfcr \out, faultaddr
.endif
.endm

.macro get_ecode out
.ifdef PARAVIRT
        li   r12, SHINFO
        ldw  \out, [r12 + SH_ECODE]
.else
        mfcr \out, ecode
.endif
.endm

; --- Page tables ----------------------------------------------------------------------------------

; Page permissions for the kernel's own memory. Bare metal: supervisor only. Paravirtual: the kernel itself
; runs in user mode, so the hardware must let user mode reach its pages; bit 9 (a bit the hardware ignores)
; marks them kernel-only, and the hypervisor leaves them out of the page tables it uses while guest user code
; runs (ring compression without shadow tables).
.ifdef PARAVIRT
        .equ PTE_KONLY, 0x200
        .equ PTE_KERNEL, PTE_P | PTE_W | PTE_U | PTE_KONLY
.else
        .equ PTE_KERNEL, PTE_P | PTE_W
.endif

; Kernel code writes page-table entries only through pte_write. On bare metal that is a store; in the
; paravirtual build the hypervisor owns page tables, so updates are queued and sent as one validated
; HC_MMU_UPDATE batch by pte_commit (Xen's mmu_update, up to MMU_BATCH_MAX entries per call), and the
; hypervisor keeps the TLB coherent with the entries it changes. Code must call pte_commit before it
; depends on the new entries, and tlb_invalidate after changing a present entry (a no-op when paravirtual).

.macro pte_write ptr, value
.ifdef PARAVIRT
        push \ptr
        push \value
        call pv_queue_pte
        addi sp, sp, 8
.else
        stw  \value, [\ptr]
.endif
.endm

.macro pte_commit
.ifdef PARAVIRT
        call pv_flush_ptes
.endif
.endm

.macro tlb_invalidate reg
.ifndef PARAVIRT
        invlpg \reg
.endif
        ; (paravirtual: the hypervisor invalidates what each validated update changes, at pte_commit)
.endm

; --- Devices --------------------------------------------------------------------------------------

.macro set_timer reg
.ifdef PARAVIRT
        hypercall1 HC_SET_TIMER, \reg
.else
        out  PORT_TIMER, \reg
.endif
.endm

; Read the console status port (the `in` nanobenchmark).
.macro console_status out
.ifdef PARAVIRT
        push r0
        push r1
        movi r1, PORT_CONSOLE_ST
        hypercall HC_PORT_IN
        mov  r13, r0
        pop  r1
        pop  r0
        mov  \out, r13
.else
        in   \out, PORT_CONSOLE_ST
.endif
.endm

; Write len bytes at buf to the console: one port write per byte on bare metal, one hypercall for the
; whole buffer in the paravirtual build (Xen's console_io). Clobbers buf and len too.
.macro console_write_buffer buf, len
.ifdef PARAVIRT
        push r0
        push r1
        push r2
        mov  r1, \buf
        mov  r2, \len
        hypercall HC_CONSOLE_WRITE
        pop  r2
        pop  r1
        pop  r0
.else
cw\@:   cmpi \len, 0
        beq  cwd\@
        ldb  r13, [\buf]
        out  PORT_CONSOLE, r13
        addi \buf, \buf, 1
        addi \len, \len, -1
        jmp  cw\@
cwd\@:
.endif
.endm

; Start a disk transfer between `sector` and the bounce buffer; completion raises the disk interrupt.
; cmd: 1 = read, 2 = write.
.macro disk_start sector, count, cmd
.ifdef PARAVIRT
        li   r12, pv_disk_request
        stw  \cmd, [r12]
        stw  \sector, [r12 + 4]
        stw  \count, [r12 + 8]
        li   r13, DISK_BUF
        stw  r13, [r12 + 12]
        push r0
        push r1
        mov  r1, r12
        hypercall HC_DISK_IO
        pop  r1
        pop  r0
.else
        out  PORT_DISK_SECTOR, \sector
        li   r13, DISK_BUF
        out  PORT_DISK_ADDR, r13
        out  PORT_DISK_COUNT, \count
        movi r13, 1
        out  PORT_DISK_IRQ, r13
        out  PORT_DISK_CMD, \cmd
.endif
.endm

.macro disk_status out
.ifdef PARAVIRT
        li   r12, pv_disk_request
        ldw  \out, [r12 + 16]
.else
        in   \out, PORT_DISK_STATUS
.endif
.endm

.macro power_off reg
.ifdef PARAVIRT
        mov  r1, \reg
        hypercall HC_SHUTDOWN
.else
        out  PORT_POWER, \reg
.endif
.endm

; --- Boot-time platform setup and checks -------------------------------------------------------------

; Paravirtual guests register their shared-info page first; bare metal has nothing to do.
.macro platform_init
.ifdef PARAVIRT
        li   r1, SHINFO
        hypercall HC_SET_SHARED
.endif
.endm

; A kernel must run in supervisor mode. rdmode is sensitive but not privileged: deprivileged by a
; trap-and-emulate VMM, the kernel reads "user" here and says so. A paravirtual kernel knows it is
; deprivileged and does not ask.
.macro check_supervisor
.ifndef PARAVIRT
        rdmode r13
        cmpi r13, 0
        beq  cs\@
        li   r1, msg_not_supervisor
        call kputs
cs\@:
.endif
.endm

; --- Support code of the paravirtual build (expanded once, in the kernel's code) --------------------------
.macro arch_code
.ifdef PARAVIRT
; Queue one page-table update: [sp + 4] = new value, [sp + 8] = entry address (pushed by pte_write).
; Sends the batch first when it is full. Clobbers r12 and r13 only.
pv_queue_pte:
        push r1
        push r2
        li   r12, pv_mmu_count
        ldw  r13, [r12]
        cmpi r13, MMU_BATCH_MAX
        blt  1f
        call pv_flush_ptes
        li   r12, pv_mmu_count
        ldw  r13, [r12]
1:      shli r1, r13, 3
        li   r2, pv_mmu_batch
        add  r1, r1, r2
        ldw  r2, [sp + 16]         ; entry address
        stw  r2, [r1]
        ldw  r2, [sp + 12]         ; new value
        stw  r2, [r1 + 4]
        addi r13, r13, 1
        stw  r13, [r12]
        pop  r2
        pop  r1
        ret

; Send the queued page-table updates as one HC_MMU_UPDATE. Clobbers r12 and r13 only.
pv_flush_ptes:
        li   r12, pv_mmu_count
        ldw  r13, [r12]
        cmpi r13, 0
        beq  1f
        push r0
        push r1
        push r2
        li   r1, pv_mmu_batch
        mov  r2, r13
        hypercall HC_MMU_UPDATE
        li   r12, pv_mmu_count
        movi r13, 0
        stw  r13, [r12]
        pop  r2
        pop  r1
        pop  r0
1:      ret

.endif
.endm

; --- Data of the paravirtual build (expanded once, in the kernel's data section) -------------------------
.macro arch_data
.ifdef PARAVIRT
        .align 4
pv_mmu_count:    .word 0
pv_mmu_batch:    .space MMU_BATCH_MAX * 8
pv_disk_request: .space 20         ; cmd, sector, count, buffer (physical), status (written by the hypervisor)
.endif
.endm
