; mm.s — physical frames, the kernel's page tables, demand-zero paging (in the current address space; see proc.s).
;
; The kernel identity-maps all 8 MiB of physical memory (supervisor only, except the user image at
; USER_BASE..USER_END, which user code may read and write). User heaps and stacks live in the demand-zero
; region DZ_BASE..DZ_END: the first touch of a page faults, and the fault handler maps a fresh zeroed frame.
; Every page-table write goes through pte_write (arch.s), so the paravirtual build can batch and validate.

        .equ BENCH_PTE_VA, 0x7ffff000   ; the page rewritten by the ptemod benchmark (above every user stack)

; Build the free-frame stack and the identity map, then turn paging on.
mm_init:
        ; free frames, pushed from the top so the lowest frame is handed out first
        li   r1, frame_stack
        li   r2, POOL_END - PAGE_SIZE
        li   r3, POOL_BASE
        movi r4, 0
1:      stw  r2, [r1]
        addi r1, r1, 4
        addi r4, r4, 1
        addi r2, r2, -PAGE_SIZE
        cmp  r2, r3
        bge  1b
        li   r1, frame_top
        stw  r4, [r1]
        ; an empty page directory
        li   r1, PGDIR
        call zero_page
        ; identity page tables for 0..8 MiB: kernel pages, except the user image, which user code may use
        li   r1, PT_LOW
        movi r2, 0                 ; physical address
        li   r3, POOL_END
        li   r5, USER_BASE
        li   r6, USER_END
2:      ori  r4, r2, PTE_KERNEL
        cmp  r2, r5
        blt  3f
        cmp  r2, r6
        bge  3f
        ori  r4, r2, PTE_P | PTE_W | PTE_U
3:      stw  r4, [r1]
        addi r1, r1, 4
        addi r2, r2, PAGE_SIZE
        cmp  r2, r3
        blt  2b
        li   r1, PGDIR
        li   r2, PT_LOW | PTE_P | PTE_W | PTE_U
        stw  r2, [r1]
        li   r2, PT_HIGH | PTE_P | PTE_W | PTE_U
        stw  r2, [r1 + 4]
        enable_paging r1
        ret

; r1 = frame: fill it with zeros. Clobbers r0, r1, r2.
zero_page:
        movi r0, 0
        addi r2, r1, PAGE_SIZE
1:      stw  r0, [r1]
        stw  r0, [r1 + 4]
        stw  r0, [r1 + 8]
        stw  r0, [r1 + 12]
        addi r1, r1, 16
        cmp  r1, r2
        blt  1b
        ret

; -> r0 = a zeroed frame, or 0 when memory is exhausted. Clobbers r0..r5.
alloc_frame:
        call alloc_frame_raw
        cmpi r0, 0
        beq  1f
        push r0
        mov  r1, r0
        call zero_page
        pop  r0
1:      ret

; -> r0 = a frame with whatever it held before, or 0 when memory is exhausted. Clobbers r0..r5.
alloc_frame_raw:
        irq_save
        li   r2, frame_top
        ldw  r3, [r2]
        cmpi r3, 0
        beq  1f
        addi r3, r3, -1
        stw  r3, [r2]
        li   r4, frame_stack
        shli r5, r3, 2
        add  r4, r4, r5
        ldw  r0, [r4]
        irq_restore
        ret
1:      irq_restore
        movi r0, 0
        ret

; r1 = frame: give it back. Clobbers r2..r5.
free_frame:
        irq_save
        li   r2, frame_top
        ldw  r3, [r2]
        li   r4, frame_stack
        shli r5, r3, 2
        add  r4, r4, r5
        stw  r1, [r4]
        addi r3, r3, 1
        stw  r3, [r2]
        irq_restore
        ret

; r1 = virtual address -> r0 = address of its page-table entry in the current address space, or 0 when no
; page table covers it.
pte_address:
        shri r0, r1, 22
        shli r0, r0, 2
        li   r13, current_pd
        ldw  r13, [r13]
        add  r0, r0, r13
        ldw  r0, [r0]
        andi r13, r0, PTE_P
        cmpi r13, 0
        beq  1f
        li   r13, 0xfffff000
        and  r0, r0, r13
        shri r13, r1, 12
        andi r13, r13, 0x3ff
        shli r13, r13, 2
        add  r0, r0, r13
        ret
1:      movi r0, 0
        ret

; A page fault: r1 = address, r2 = error code -> r0 = 0 handled (retry the access), 1 not ours, 2 no memory.
; Only faults in the demand-zero region are handled: "not present" maps a fresh zeroed page there, a write to
; a present page may be copy-on-write (cow_fault, proc.s).
handle_page_fault:
        li   r3, DZ_BASE
        cmp  r1, r3
        bltu 9f
        li   r3, DZ_END
        cmp  r1, r3
        bgeu 9f
        andi r3, r2, PF_PROTECTION
        cmpi r3, 0
        bne  cow_fault
        push r8
        push r9
        mov  r8, r1
        ; the page table: allocate one if the directory entry is empty
        shri r3, r8, 22
        shli r3, r3, 2
        li   r9, current_pd
        ldw  r9, [r9]
        add  r9, r9, r3            ; r9 = directory entry address (in the current address space)
        ldw  r4, [r9]
        andi r5, r4, PTE_P
        cmpi r5, 0
        bne  1f
        call alloc_frame
        cmpi r0, 0
        beq  8f
        ori  r4, r0, PTE_P | PTE_W | PTE_U
        pte_write r9, r4
        pte_commit
1:      mov  r1, r8
        call pte_address
        mov  r9, r0                ; r9 = page-table entry address
        call alloc_frame
        cmpi r0, 0
        beq  8f
        ori  r4, r0, PTE_P | PTE_W | PTE_U
        pte_write r9, r4
        pte_commit
        movi r0, 0
        pop  r9
        pop  r8
        ret
8:      movi r0, 2
        pop  r9
        pop  r8
        ret
9:      movi r0, 1
        ret

; release(r1 = address, r2 = pages) -> r0 = pages unmapped. Unmaps demand-zero pages and frees their frames:
; one page-table write and one TLB invalidation per page (one batched hypercall in the paravirtual build).
sys_release:
        push r8
        push r9
        push r10
        push r11
        li   r3, 0xfffff000
        and  r8, r1, r3            ; r8 = page address
        mov  r9, r2                ; r9 = pages left
        movi r10, 0                ; r10 = pages unmapped
1:      cmpi r9, 0
        beq  3f
        li   r3, DZ_BASE
        cmp  r8, r3
        bltu 2f                    ; only the demand-zero region can be released
        mov  r1, r8
        call pte_address
        cmpi r0, 0
        beq  2f
        mov  r11, r0
        ldw  r1, [r11]
        andi r3, r1, PTE_P
        cmpi r3, 0
        beq  2f
        li   r3, 0xfffff000
        and  r1, r1, r3
        call free_frame
        movi r4, 0
        pte_write r11, r4
        tlb_invalidate r8
        addi r10, r10, 1
2:      addi r8, r8, PAGE_SIZE
        addi r9, r9, -1
        jmp  1b
3:      pte_commit
        mov  r0, r10
        pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; The `ptemod` nanobenchmark: r1 = iterations. Each one rewrites the page-table entry of BENCH_PTE_VA
; (toggling its writable bit) and invalidates the TLB entry. Returns the number of updates made in the loop,
; counted as it runs, for the workload to print.
sys_bench_pte:
        push r8
        push r9
        push r10
        push r11
        mov  r11, r1               ; r11 = iterations to make
        li   r10, BENCH_PTE_VA
        ldw  r0, [r10]             ; make sure the page is mapped (a demand-zero fault the first time)
        mov  r1, r10
        call pte_address
        mov  r9, r0                ; r9 = entry address
        ldw  r4, [r9]
        movi r8, 0                 ; r8 = updates made
1:      cmp  r8, r11
        bge  2f
        xori r4, r4, PTE_W
        pte_write r9, r4
        tlb_invalidate r10
        pte_commit
        addi r8, r8, 1
        jmp  1b
2:      ori  r4, r4, PTE_W
        pte_write r9, r4
        tlb_invalidate r10
        pte_commit
        mov  r0, r8
        pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

