; proc.s — address spaces and processes: every task has its own page directory; fork copies an address
; space (copy-on-write), exit tears it down, wait reaps a child.
;
; An address space is a page directory whose first two entries are the master directory's (the kernel's
; identity map of 8 MiB and the shared user image), plus private page tables for the demand-zero region
; (DZ_FIRST_PDE .. DZ_END_PDE). A table being built for an address space that is not running yet is
; ordinary memory, written with plain stores; a live table is changed only with pte_write (arch.s).
;
; Fork works as Unix kernels do it (Linux's copy_page_range): the child gets its own page tables, but the
; pages themselves are shared copy-on-write — the parent's entries lose W and gain PTE_COW, the child's get
; the same value, and frame_share counts the extra sharers. The first write to such a page faults, and
; cow_fault gives the writer a private copy (or, for the last sharer, its page back writable). Exit first
; unmaps every private page of the dying address space while it is still in use (as_zap, Linux's
; zap_pte_range), then frees its tables. These live page-table writes are what make fork expensive for a VMM
; with shadow page tables.

; -> r0 = a new address space (its page directory), or 0 when memory is exhausted. Clobbers r0..r5.
as_create:
        push r8
        call alloc_frame           ; zeroed
        cmpi r0, 0
        beq  1f
        mov  r8, r0
        li   r1, PGDIR
        ldw  r2, [r1]
        stw  r2, [r8]              ; 0..4 MiB: the kernel and the user image
        ldw  r2, [r1 + 4]
        stw  r2, [r8 + 4]          ; 4..8 MiB: the rest of physical memory
        mov  r0, r8
1:      pop  r8
        ret

; r1 = page directory of an address space that is not in use: release every private page it still maps, then
; free its page tables and the directory (the error path of fork; exit unmaps with as_zap first). Clobbers r0..r7.
as_destroy:
        push r1
        movi r2, 0                 ; not in use: its entries need not be cleared
        call as_unmap
        pop  r1
        ; fall through

; r1 = page directory of an address space that is not in use and maps no private page any more: free its page
; tables and the directory itself. Clobbers r0..r5, r7.
as_free_tables:
        push r8
        push r9
        mov  r8, r1
        movi r9, DZ_FIRST_PDE
1:      cmpi r9, DZ_END_PDE
        bge  2f
        shli r2, r9, 2
        add  r2, r2, r8
        ldw  r1, [r2]
        andi r3, r1, PTE_P
        cmpi r3, 0
        beq  3f
        li   r3, 0xfffff000
        and  r1, r1, r3
        call free_frame
3:      addi r9, r9, 1
        jmp  1b
2:      mov  r1, r8
        call free_frame
        pop  r9
        pop  r8
        ret

; Share the private region of address space r2 (the one in use) with the empty address space r1,
; copy-on-write: each present page becomes read-only and PTE_COW in both, and its frame gains a sharer.
; -> r0 = 0, or -1 when memory ran out (r1 then holds what was built so far: destroy it).
; (The child's page table is re-read from its directory entry for each page: r12 and r13 do not survive the
; arch.s macros.)
as_copy:
        push r8
        push r9
        push r10
        push r11
        mov  r8, r1                ; child directory
        mov  r9, r2                ; parent directory
        movi r10, DZ_FIRST_PDE
1:      cmpi r10, DZ_END_PDE
        bge  4f
        shli r2, r10, 2
        add  r2, r2, r9
        ldw  r11, [r2]             ; parent's directory entry
        andi r3, r11, PTE_P
        cmpi r3, 0
        beq  3f
        call alloc_frame           ; the child's page table (zeroed)
        cmpi r0, 0
        beq  9f
        ori  r3, r0, PTE_P | PTE_W | PTE_U
        shli r2, r10, 2
        add  r2, r2, r8
        stw  r3, [r2]
        li   r3, 0xfffff000
        and  r11, r11, r3          ; parent's page table
        movi r7, 0
2:      shli r6, r7, 2
        add  r6, r6, r11           ; r6 = the parent's entry
        ldw  r5, [r6]
        andi r3, r5, PTE_P
        cmpi r3, 0
        beq  5f
        li   r3, ~PTE_W
        and  r5, r5, r3
        ori  r5, r5, PTE_COW       ; read-only and copy-on-write, in both address spaces
        pte_write r6, r5           ; a live entry: the parent's address space is in use
        shli r3, r10, 22
        shli r4, r7, 12
        or   r3, r3, r4
        tlb_invalidate r3
        shli r2, r10, 2
        add  r2, r2, r8
        ldw  r3, [r2]              ; the child's page table (not live: a plain store)
        li   r4, 0xfffff000
        and  r3, r3, r4
        shli r2, r7, 2
        add  r2, r2, r3
        stw  r5, [r2]
        li   r4, 0xfffff000
        and  r1, r5, r4
        call share_slot            ; the frame gains a sharer
        ldb  r2, [r0]
        addi r2, r2, 1
        stb  r2, [r0]
5:      addi r7, r7, 1
        cmpi r7, 1024
        blt  2b
3:      addi r10, r10, 1
        jmp  1b
4:      pte_commit
        movi r0, 0
        jmp  10f
9:      pte_commit
        movi r0, -1
10:     pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; Unmap every private page of the address space in use: clear its entry, invalidate its translation and
; release its frame. Its page tables stay (as_free_tables frees them once the space is no longer in use).
; Clobbers r0..r7.
as_zap:
        li   r1, current_pd
        ldw  r1, [r1]
        movi r2, 1
        ; fall through

; r1 = page directory, r2 = 1 if it is the one in use: release the frame of every private page it maps; for the
; space in use, also clear each entry (pte_write) and invalidate its translation. Clobbers r0..r7.
as_unmap:
        push r8
        push r9
        push r10
        push r11
        mov  r8, r1
        mov  r6, r2                ; (release_frame keeps r6)
        movi r9, DZ_FIRST_PDE
1:      cmpi r9, DZ_END_PDE
        bge  4f
        shli r2, r9, 2
        add  r2, r2, r8
        ldw  r10, [r2]
        andi r3, r10, PTE_P
        cmpi r3, 0
        beq  3f
        li   r3, 0xfffff000
        and  r10, r10, r3          ; the page table
        movi r7, 0
2:      shli r11, r7, 2
        add  r11, r11, r10         ; r11 = the entry
        ldw  r1, [r11]
        andi r3, r1, PTE_P
        cmpi r3, 0
        beq  5f
        li   r3, 0xfffff000
        and  r1, r1, r3
        push r7
        call release_frame
        pop  r7
        cmpi r6, 0
        beq  5f
        movi r4, 0
        pte_write r11, r4
        shli r3, r9, 22
        shli r4, r7, 12
        or   r3, r3, r4
        tlb_invalidate r3
5:      addi r7, r7, 1
        cmpi r7, 1024
        blt  2b
3:      addi r9, r9, 1
        jmp  1b
4:      pte_commit
        pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; Make task r1 ready to run: r2 = its saved kernel sp, r3 = its page directory, r4 = its parent (-1: none).
; Clobbers r0, r5.
tcb_ready:
        shli r0, r1, 5
        li   r5, tcbs
        add  r0, r0, r5
        stw  r2, [r0 + TCB_SP]
        stw  r3, [r0 + TCB_PGDIR]
        stw  r4, [r0 + TCB_PARENT]
        movi r5, 0
        stw  r5, [r0 + TCB_EXIT]
        stw  r5, [r0 + TCB_FAULTMODE]
        stw  r5, [r0 + TCB_FAULTS]
        movi r5, T_READY
        stw  r5, [r0 + TCB_STATE]
        ret

; r1 = a pool frame -> r0 = the address of its sharer count. Clobbers r0 only.
share_slot:
        li   r0, POOL_BASE
        sub  r0, r1, r0
        shri r0, r0, 12
        push r1
        li   r1, frame_share
        add  r0, r0, r1
        pop  r1
        ret

; r1 = a pool frame one address space stops using: one sharer fewer, or free when it had none.
; Clobbers r0, r2..r5.
release_frame:
        call share_slot
        ldb  r2, [r0]
        cmpi r2, 0
        beq  free_frame            ; the last user (free_frame returns to our caller)
        addi r2, r2, -1
        stb  r2, [r0]
        ret

; A write fault on a present page of the private region (r1 = address, r2 = error code) -> r0 as
; handle_page_fault. A copy-on-write page gets a private copy, or, for its last sharer, W back without one.
cow_fault:
        andi r3, r2, PF_WRITE
        cmpi r3, 0
        beq  9f
        push r8
        push r9
        push r10
        mov  r8, r1
        call pte_address
        cmpi r0, 0
        beq  7f
        mov  r9, r0                ; r9 = the entry
        ldw  r10, [r9]
        andi r3, r10, PTE_COW
        cmpi r3, 0
        beq  7f                    ; a read-only page that is not copy-on-write: not ours
        li   r3, 0xfffff000
        and  r1, r10, r3           ; the shared frame
        call share_slot
        ldb  r2, [r0]
        cmpi r2, 0
        bne  1f
        li   r3, ~PTE_COW          ; nobody else maps it any more: writable again, no copy
        and  r10, r10, r3
        ori  r10, r10, PTE_W
        jmp  2f
1:      push r1
        call alloc_frame_raw       ; overwritten at once by the copy
        pop  r1
        cmpi r0, 0
        beq  8f
        mov  r10, r0
        push r1
        mov  r2, r1
        mov  r1, r10
        li   r3, PAGE_SIZE
        call memcpy
        pop  r1
        call share_slot            ; the shared frame has one sharer fewer
        ldb  r2, [r0]
        addi r2, r2, -1
        stb  r2, [r0]
        ori  r10, r10, PTE_P | PTE_W | PTE_U
2:      pte_write r9, r10
        tlb_invalidate r8
        pte_commit
        movi r0, 0
        jmp  6f
7:      movi r0, 1
        jmp  6f
8:      movi r0, 2
6:      pop  r10
        pop  r9
        pop  r8
        ret
9:      movi r0, 1
        ret

; Make r1 the address space in use (nothing to do if it already is). Clobbers r2, r3.
switch_as:
        li   r2, current_pd
        ldw  r3, [r2]
        cmp  r1, r3
        beq  1f
        stw  r1, [r2]
        set_ptbr r1
1:      ret

; Below a kernel stack top whose last 76 bytes hold a saved user context (registers and the exception frame),
; lay out what schedule pops when it first switches to the task: r8..r13 and a return into ret_to_user.
; r0 = kernel stack top -> r0 = the task's saved kernel sp. Clobbers r4..r6.
resume_frame:
        li   r4, ret_to_user
        stw  r4, [r0 - 80]
        addi r5, r0, -104
        movi r4, 0
        movi r6, 6
1:      stw  r4, [r5]
        addi r5, r5, 4
        addi r6, r6, -1
        cmpi r6, 0
        bne  1b
        addi r0, r0, -104
        ret

; fork() -> the child's id in the parent, 0 in the child, -1 if no task slot or no memory is left.
; The child gets a copy of the parent's private memory and returns from the same system call.
sys_fork:
        push r8
        push r9
        push r10
        push r11
        irq_save
        call free_tcb_id           ; r0 = a free task id or -1
        cmpi r0, 0
        blt  8f
        mov  r8, r0
        call as_create
        cmpi r0, 0
        beq  8f
        mov  r9, r0
        mov  r1, r9
        li   r2, current_pd
        ldw  r2, [r2]
        call as_copy
        cmpi r0, 0
        bne  7f
        ; the child's kernel stack: the parent's saved user context, with r0 = 0 (fork returns 0 in the child)
        li   r1, current
        ldw  r1, [r1]
        call kstack_top
        mov  r10, r0
        mov  r1, r8
        call kstack_top
        mov  r11, r0
        addi r1, r11, -76
        addi r2, r10, -76
        movi r3, 76
        call memcpy
        movi r4, 0
        stw  r4, [r11 - 76]
        mov  r0, r11
        call resume_frame
        mov  r1, r8
        mov  r2, r0
        mov  r3, r9
        li   r4, current
        ldw  r4, [r4]              ; the parent: the caller
        call tcb_ready
        mov  r0, r8
        jmp  9f
7:      mov  r1, r9                ; out of memory while copying: give back what was taken
        call as_destroy
8:      movi r0, -1
9:      mov  r8, r0
        irq_restore
        mov  r0, r8
        pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; wait(r1 = child id) -> its exit code once it has exited (its slot is then free again), or -1 if it is not
; a child of the caller. Waits by letting the other tasks run.
sys_wait:
        push r8
        push r9
        mov  r8, r1
        cmpi r8, 0
        blt  8f
        cmpi r8, MAX_TASKS
        bge  8f
        shli r9, r8, 5
        li   r2, tcbs
        add  r9, r9, r2            ; the child's TCB
1:      irq_save
        ldw  r2, [r9 + TCB_PARENT]
        li   r3, current
        ldw  r3, [r3]
        cmp  r2, r3
        bne  7f
        ldw  r2, [r9 + TCB_STATE]
        cmpi r2, T_ZOMBIE
        beq  2f
        cmpi r2, T_FREE
        beq  7f
        call schedule              ; not yet: let it (and everyone else) run
        irq_restore
        jmp  1b
2:      ldw  r8, [r9 + TCB_EXIT]   ; reap
        movi r2, 0
        stw  r2, [r9 + TCB_EXIT]
        movi r2, -1
        stw  r2, [r9 + TCB_PARENT]
        movi r2, T_FREE
        stw  r2, [r9 + TCB_STATE]
        irq_restore
        mov  r0, r8
        jmp  9f
7:      irq_restore
8:      movi r0, -1
9:      pop  r9
        pop  r8
        ret
