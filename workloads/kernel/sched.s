; sched.s — tasks, the timer tick and the round-robin scheduler.
;
; Every task has a kernel stack. A task that is not running has, on top of its kernel stack, what
; `schedule` pushed (r8..r13) under a return address; switching tasks is saving sp in the old TCB and
; loading the new one's. A new task's stack is prepared to look exactly like that, returning into
; ret_to_user with a register image and an exception frame that enter user mode at the task's entry.

; Task control block
        .equ TCB_STATE,     0
        .equ TCB_SP,        4      ; saved kernel sp while not running
        .equ TCB_WAKE,      8      ; tick to wake at (sleeping)
        .equ TCB_EXIT,     12      ; exit code (zombie)
        .equ TCB_FAULTMODE, 16     ; 0 = faults kill, 1 = faults are skipped
        .equ TCB_FAULTS,   20      ; faults skipped
        .equ TCB_PGDIR,    24      ; its address space (page directory, physical)
        .equ TCB_PARENT,   28      ; the task that forked it (-1: created at boot)
        .equ TCB_SIZE,     32

; r0 = address of the running task's TCB. Clobbers only r0 and r13.
current_tcb:
        li   r13, current
        ldw  r13, [r13]
        shli r13, r13, 5           ; * TCB_SIZE
        li   r0, tcbs
        add  r0, r0, r13
        ret

; r1 = task id -> r0 = top of its kernel stack. Clobbers only r0.
kstack_top:
        addi r0, r1, 1
        muli r0, r0, KSTACK_SIZE
        push r1
        li   r1, KSTACKS
        add  r0, r0, r1
        pop  r1
        ret

; Create a task for every (entry, argument) pair of the program's user_tasks table.
create_user_tasks:
        push r8
        li   r8, user_tasks
1:      ldw  r1, [r8]
        cmpi r1, 0
        beq  2f
        ldw  r2, [r8 + 4]
        call create_task
        addi r8, r8, 8
        jmp  1b
2:      pop  r8
        ret

; -> r0 = the id of a free task slot, or -1. Clobbers r0, r3, r4.
free_tcb_id:
        li   r3, tcbs
        movi r0, 0
1:      cmpi r0, MAX_TASKS
        bge  2f
        ldw  r4, [r3 + TCB_STATE]
        cmpi r4, T_FREE
        beq  3f
        addi r3, r3, TCB_SIZE
        addi r0, r0, 1
        jmp  1b
2:      movi r0, -1
3:      ret

; r1 = entry point, r2 = argument (passed to the task in r1) -> r0 = task id, or -1 if no slot or memory is
; left. The task gets an address space of its own.
create_task:
        push r8
        push r9
        push r10
        push r11
        mov  r9, r1
        mov  r10, r2
        call free_tcb_id
        cmpi r0, 0
        blt  9f
        mov  r8, r0
        call as_create
        cmpi r0, 0
        beq  9f
        mov  r11, r0
        ; the initial kernel stack, from the top down: the exception frame SP, MODE, FLAGS, PC
        mov  r1, r8
        call kstack_top            ; r0 = top
        li   r4, USTACK_TOP
        muli r5, r8, USTACK_SPAN >> 12
        shli r5, r5, 12
        sub  r4, r4, r5            ; user stack top of task r8: USTACK_TOP - r8 * USTACK_SPAN
        stw  r4, [r0 - 4]
        movi r4, 1
        stw  r4, [r0 - 8]          ; MODE = user
        li   r4, FLAG_IF
        stw  r4, [r0 - 12]         ; FLAGS: interrupts enabled
        stw  r9, [r0 - 16]         ; PC = entry
        ; the register image for ret_to_user: r0..r14, all 0 except r1 = argument
        addi r5, r0, -76           ; r0 slot
        movi r4, 0
        movi r6, 15
3:      stw  r4, [r5]
        addi r5, r5, 4
        addi r6, r6, -1
        cmpi r6, 0
        bne  3b
        stw  r10, [r0 - 72]        ; r1 slot
        call resume_frame          ; r0 = the task's saved kernel sp
        mov  r1, r8
        mov  r2, r0
        mov  r3, r11
        movi r4, -1                ; no parent
        call tcb_ready
        mov  r0, r8
        jmp  10f
9:      movi r0, -1
10:     pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; The timer interrupt: count the tick, wake sleepers whose time has come, ask for a reschedule.
timer_tick:
        li   r1, ticks
        ldw  r2, [r1]
        addi r2, r2, 1
        stw  r2, [r1]
        movi r3, 1
        li   r1, need_resched
        stw  r3, [r1]
        li   r3, tcbs
        movi r4, 0
1:      ldw  r5, [r3 + TCB_STATE]
        cmpi r5, T_SLEEPING
        bne  2f
        ldw  r5, [r3 + TCB_WAKE]
        cmp  r5, r2
        bgt  2f
        movi r5, T_READY
        stw  r5, [r3 + TCB_STATE]
2:      addi r3, r3, TCB_SIZE
        addi r4, r4, 1
        cmpi r4, MAX_TASKS
        blt  1b
        ret

; On the way back to user mode: switch tasks if the timer asked for it. Interrupts are disabled.
resched_if_needed:
        li   r1, need_resched
        ldw  r2, [r1]
        cmpi r2, 0
        beq  1f
        movi r2, 0
        stw  r2, [r1]
        call schedule
1:      ret

; Switch to the next ready task after the current one (round robin); return when this task runs again.
; Called with interrupts disabled. If no task is ready, wait for an interrupt; if no task is alive, shut
; the machine down. Preserves r8..r13; clobbers r0..r7.
schedule:
        push r8
        push r9
        push r10
        push r11
        push r12
        push r13
sched_retry:
        li   r8, current
        ldw  r9, [r8]              ; r9 = current id
        movi r10, 1                ; k = 1..MAX_TASKS
        movi r11, 0                ; any task alive?
1:      add  r1, r9, r10
        andi r1, r1, MAX_TASKS - 1 ; (cur + k) mod MAX_TASKS
        shli r2, r1, 5
        li   r3, tcbs
        add  r3, r3, r2
        ldw  r4, [r3 + TCB_STATE]
        cmpi r4, T_READY
        beq  found
        cmpi r4, T_SLEEPING
        bne  2f
        movi r11, 1
2:      addi r10, r10, 1
        cmpi r10, MAX_TASKS
        ble  1b
        cmpi r11, 0
        beq  all_exited
        cpu_idle                   ; someone sleeps: wait for the timer to wake them
        jmp  sched_retry
found:  cmp  r1, r9
        beq  switch_resume         ; the same task: nothing to switch
        ; save this task's kernel sp and switch to the other one's address space and kernel stack
        shli r2, r9, 5
        li   r3, tcbs
        add  r3, r3, r2
        stw  sp, [r3 + TCB_SP]
        stw  r1, [r8]              ; current = next
        mov  r10, r1
        shli r2, r10, 5
        li   r3, tcbs
        add  r11, r3, r2           ; r11 = the next task's TCB
        ldw  r1, [r11 + TCB_PGDIR]
        call switch_as
        mov  r1, r10
        call kstack_top
        set_kernel_stack r0
        ldw  sp, [r11 + TCB_SP]
switch_resume:
        pop  r13
        pop  r12
        pop  r11
        pop  r10
        pop  r9
        pop  r8
        ret

; No task is alive: power off with the OR of all exit codes (0 when every task succeeded).
all_exited:
        li   r3, tcbs
        movi r4, 0
        movi r5, 0
1:      ldw  r6, [r3 + TCB_EXIT]
        or   r5, r5, r6
        addi r3, r3, TCB_SIZE
        addi r4, r4, 1
        cmpi r4, MAX_TASKS
        blt  1b
        power_off r5
2:      jmp  2b

; r1 = exit code. The running task's address space is torn down and the task becomes a zombie (until its
; parent waits for it); it never runs again. Interrupts disabled.
task_exit:
        mov  r8, r1
        call current_tcb
        mov  r9, r0
        stw  r8, [r9 + TCB_EXIT]
        call as_zap                ; unmap its pages while it is still in use (as_zap keeps r8, r9)
        li   r1, PGDIR             ; leave the address space before freeing it
        call switch_as
        ldw  r1, [r9 + TCB_PGDIR]
        call as_free_tables
        movi r1, 0
        stw  r1, [r9 + TCB_PGDIR]
        movi r1, T_ZOMBIE
        stw  r1, [r9 + TCB_STATE]
        call schedule
1:      jmp  1b                    ; not reached
