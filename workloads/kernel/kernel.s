; kernel.s — the virtstrat guest kernel (vskernel). Written for bare metal, in supervisor mode.
;
; A small preemptive kernel: boot, trap vectors, system calls, a timer-driven round-robin scheduler of up to
; MAX_TASKS user tasks (each with its own kernel stack), demand-zero paging, a console and a block-device
; driver, and handlers that kill a faulting user task instead of the machine. The same source builds a
; paravirtual kernel when PARAVIRT is defined: only the macros in arch.s change.
;
; A workload is assembled as: this file, then `.org USER_BASE`, the user library and one program that defines
; `user_tasks` (a table of entry, argument pairs ending with 0). See workloads/README.md.
;
; Calling convention (kernel and user code): arguments in r1..r4, result in r0; r0..r7 may be clobbered by
; a call, r8..r13 are preserved (except by arch.s macros, which may clobber r12 and r13); sp = r15.

        .include "defs.s"
        .include "arch.s"

        .ifndef TIMER_PERIOD
        .equ TIMER_PERIOD, 100000  ; instructions between timer interrupts (a workload may override it)
        .endif

; --- Saved registers on the kernel stack after save_all -------------------------------------------
        .equ F_R0,     0           ; r0 at [sp], rN at [sp + 4N]
        .equ F_PC,     60          ; then the exception frame pushed by the hardware (or hypervisor)
        .equ F_FLAGS,  64
        .equ F_MODE,   68
        .equ F_SP,     72

.macro save_all
        push r14
        push r13
        push r12
        push r11
        push r10
        push r9
        push r8
        push r7
        push r6
        push r5
        push r4
        push r3
        push r2
        push r1
        push r0
.endm

.macro restore_all
        pop  r0
        pop  r1
        pop  r2
        pop  r3
        pop  r4
        pop  r5
        pop  r6
        pop  r7
        pop  r8
        pop  r9
        pop  r10
        pop  r11
        pop  r12
        pop  r13
        pop  r14
.endm

; --- Image layout ------------------------------------------------------------------------------
        .org 0
reset:  jmp  boot

        .org VECTORS
trap_vectors:
        .space 256 * 4             ; filled by install_vectors at boot

        .org SHINFO
shared_info:
        .space PAGE_SIZE           ; the paravirtual shared-info page (zero on bare metal)

        .org 0x3000

; --- Boot ----------------------------------------------------------------------------------------
boot:
        li   sp, KSTACK_BOOT
        platform_init
        check_supervisor
        call install_vectors
        li   r1, trap_vectors
        set_trap_table r1
        call mm_init
        call create_user_tasks
        li   r1, TIMER_PERIOD
        set_timer r1
        ; Enter task 0: its kernel stack was prepared to "return" to user mode, in its address space.
        movi r1, 0
        li   r2, current
        stw  r1, [r2]
        li   r1, tcbs + TCB_PGDIR
        ldw  r1, [r1]
        call switch_as
        movi r1, 0
        call kstack_top
        set_kernel_stack r0
        li   r1, tcbs + TCB_SP
        ldw  sp, [r1]
        jmp  switch_resume

; Point every vector at `unexpected`, then install the real handlers.
install_vectors:
        li   r1, trap_vectors
        li   r2, unexpected
        movi r3, 256
1:      stw  r2, [r1]
        addi r1, r1, 4
        addi r3, r3, -1
        cmpi r3, 0
        bne  1b
        li   r1, trap_vectors
        li   r2, vec_de
        stw  r2, [r1 + VEC_DE * 4]
        li   r2, vec_ud
        stw  r2, [r1 + VEC_UD * 4]
        li   r2, vec_gp
        stw  r2, [r1 + VEC_GP * 4]
        li   r2, vec_pf
        stw  r2, [r1 + VEC_PF * 4]
        li   r2, vec_ac
        stw  r2, [r1 + VEC_AC * 4]
        li   r2, vec_timer
        stw  r2, [r1 + VEC_TIMER * 4]
        li   r2, vec_disk
        stw  r2, [r1 + VEC_DISK * 4]
        li   r2, vec_syscall
        stw  r2, [r1 + VEC_SYSCALL * 4]
        ret

; --- Trap entry points ------------------------------------------------------------------------------
; The hardware (or the hypervisor) delivers with interrupts disabled; handlers keep them disabled except
; system calls, which run with interrupts enabled like a real kernel's.

vec_syscall:
        save_all
        irq_enable
        cmpi r0, NSYSCALLS
        bgeu 1f
        li   r12, syscall_table
        shli r13, r0, 2
        add  r12, r12, r13
        ldw  r12, [r12]
        callr r12                  ; arguments are still in r1..r3; the result comes back in r0
        stw  r0, [sp + F_R0]
        jmp  ret_from_syscall
1:      movi r0, -1                ; unknown system call
        stw  r0, [sp + F_R0]
ret_from_syscall:
        irq_disable
        call resched_if_needed
ret_to_user:
        restore_all
        return_from_trap

vec_timer:
        save_all
        call timer_tick
        ldw  r1, [sp + F_MODE]
        cmpi r1, 0
        beq  1f                    ; the kernel was interrupted: no preemption inside the kernel
        call resched_if_needed
1:      restore_all
        return_from_trap

vec_disk:
        save_all
        disk_status r1
        li   r2, disk_result
        stw  r1, [r2]
        movi r1, 1
        li   r2, disk_done
        stw  r1, [r2]
        restore_all
        return_from_trap

vec_pf:
        save_all
        get_faultaddr r1
        get_ecode r2
        call handle_page_fault
        cmpi r0, 0
        bne  1f
        restore_all
        return_from_trap
1:      movi r1, VEC_PF
        cmpi r0, 2
        bne  fault_common
        li   r1, FAULT_NO_MEMORY        ; no free frame to serve it: say so, not just "page fault"
        jmp  fault_common

vec_de: save_all
        movi r1, VEC_DE
        jmp  fault_common
vec_ud: save_all
        movi r1, VEC_UD
        jmp  fault_common
vec_gp: save_all
        movi r1, VEC_GP
        jmp  fault_common
vec_ac: save_all
        movi r1, VEC_AC
        jmp  fault_common
unexpected:
        save_all
        movi r1, -1
        jmp  fault_common

; A fault. r1 = vector (or FAULT_NO_MEMORY). From user mode: skip the instruction if the task asked for it (faultmode 1),
; else kill the task with a message. From the kernel: panic.
fault_common:
        ldw  r2, [sp + F_MODE]
        cmpi r2, 0
        beq  kernel_panic
        call current_tcb           ; r0 = this task's TCB
        ldw  r3, [r0 + TCB_FAULTMODE]
        cmpi r3, 1
        bne  kill_current
        ldw  r3, [r0 + TCB_FAULTS]
        addi r3, r3, 1
        stw  r3, [r0 + TCB_FAULTS]
        ldw  r3, [sp + F_PC]
        addi r3, r3, 4
        stw  r3, [sp + F_PC]
        restore_all
        return_from_trap

kill_current:                      ; r1 = vector
        mov  r8, r1
        li   r1, msg_task
        call kputs
        li   r1, current
        ldw  r1, [r1]
        call kput_dec
        li   r1, msg_killed
        call kputs
        mov  r1, r8
        call vector_name
        mov  r1, r0
        call kputs
        li   r1, msg_at_pc
        call kputs
        ldw  r1, [sp + F_PC]
        call kput_hex
        li   r1, msg_newline
        call kputs
        ori  r1, r8, 0x80          ; exit code: 0x80 | vector
        andi r1, r1, 0xff
        call task_exit             ; does not return

kernel_panic:                      ; r1 = vector
        mov  r8, r1
        li   r1, msg_panic
        call kputs
        mov  r1, r8
        call vector_name
        mov  r1, r0
        call kputs
        li   r1, msg_at_pc
        call kputs
        ldw  r1, [sp + F_PC]
        call kput_hex
        li   r1, msg_newline
        call kputs
        movi r1, 255
        power_off r1
1:      jmp  1b

; r1 = vector -> r0 = its name (a string)
vector_name:
        li   r0, name_unexpected
        cmpi r1, VEC_DE
        bne  1f
        li   r0, name_de
1:      cmpi r1, VEC_UD
        bne  2f
        li   r0, name_ud
2:      cmpi r1, VEC_GP
        bne  3f
        li   r0, name_gp
3:      cmpi r1, VEC_PF
        bne  4f
        li   r0, name_pf
4:      cmpi r1, VEC_AC
        bne  5f
        li   r0, name_ac
5:      cmpi r1, FAULT_NO_MEMORY
        bne  6f
        li   r0, name_no_memory
6:      ret

; --- System calls ----------------------------------------------------------------------------------
; Entered with the caller's registers saved and interrupts enabled; arguments in r1..r3; result in r0.

        .align 4
syscall_table:
        .word sys_exit, sys_write, sys_getticks, sys_yield, sys_getpid, sys_sleep, sys_null
        .word sys_faultmode, sys_release, sys_disk_read, sys_disk_write, sys_bench_in, sys_bench_prio
        .word sys_bench_pte, sys_crit, sys_bench_smc, sys_faults, sys_fork, sys_wait

sys_null:                          ; r1 = n -> r0 = n + 1: the caller counts completed calls with it
        addi r0, r1, 1
        ret

sys_exit:                          ; r1 = exit code
        irq_disable
        call task_exit

sys_write:                         ; r1 = buffer, r2 = length -> r0 = length
        mov  r8, r2
        irq_save                   ; the console is one shared device: no interrupt in the middle of a write
        console_write_buffer r1, r2
        irq_restore
        mov  r0, r8
        ret

sys_getticks:
        li   r1, ticks
        ldw  r0, [r1]
        ret

sys_getpid:
        li   r1, current
        ldw  r0, [r1]
        ret

sys_yield:
        irq_save
        call schedule
        irq_restore
        movi r0, 0
        ret

sys_sleep:                         ; r1 = ticks
        irq_save
        li   r2, ticks
        ldw  r2, [r2]
        add  r1, r1, r2
        call current_tcb
        stw  r1, [r0 + TCB_WAKE]
        movi r1, T_SLEEPING
        stw  r1, [r0 + TCB_STATE]
        call schedule
        irq_restore
        movi r0, 0
        ret

sys_faultmode:                     ; r1 = 0 (kill on fault) or 1 (skip the faulting instruction)
        call current_tcb
        stw  r1, [r0 + TCB_FAULTMODE]
        movi r0, 0
        ret

sys_faults:
        call current_tcb
        ldw  r0, [r0 + TCB_FAULTS]
        ret

; The `in` nanobenchmark: r1 = iterations.
sys_bench_in:
        movi r0, 0
1:      cmpi r1, 0
        beq  2f
        console_status r2
        add  r0, r0, r2
        addi r1, r1, -1
        jmp  1b
2:      ret

; The `prio-write` nanobenchmark: r1 = number of task-priority writes (alternating 1 and 0; neither
; masks the timer, whose priority class is 2).
; Returns the number of writes made in the loop, counted as it runs, for the workload to print.
sys_bench_prio:
        movi r2, 1
        movi r3, 0                 ; writes made
1:      cmp  r3, r1
        bge  2f
        set_tpr r2
        xori r2, r2, 1
        addi r3, r3, 1
        jmp  1b
2:      movi r2, 0
        set_tpr r2
        mov  r0, r3
        ret

; Critical sections the way real kernels write them, until r1 timer ticks have been taken in the windows
; between them. Bare metal: pushf; cli; ...; popf. Deprivileged by trap-and-emulate, the popf cannot turn
; interrupts back on, the ticks never come, and this loop does not end.
; Returns the number of ticks taken, for the workload to print.
sys_crit:
        li   r8, ticks
        ldw  r11, [r8]             ; the tick count at the start
        add  r9, r11, r1           ; the tick count to reach
        li   r10, crit_counter
1:      irq_save
        ldw  r2, [r10]             ; the protected update
        addi r2, r2, 1
        stw  r2, [r10]
        irq_restore
        ldw  r3, [r8]              ; interrupts are enabled here: ticks arrive
        cmp  r3, r9
        blt  1b
        sub  r0, r3, r11
        ret

; The kernel rewrites one of its own instructions and runs it, r1 times: the immediate of the addi in
; smc_target becomes i (1..r1, modulo 0x8000). Returns the sum of the immediates.
sys_bench_smc:
        movi r0, 0
        movi r2, 0
        li   r3, smc_target
1:      cmp  r2, r1
        bge  2f
        addi r2, r2, 1
        ldw  r4, [r3]
        lui  r5, 0xffff
        and  r4, r4, r5
        andi r5, r2, 0x7fff
        or   r4, r4, r5
        stw  r4, [r3]              ; patch the instruction...
        call smc_target            ; ...and run it at once
        jmp  1b
2:      ret
smc_target:
        addi r0, r0, 0
        ret

; --- Block device --------------------------------------------------------------------------------

; Transfer r2 sectors starting at r1 between the disk and the bounce buffer; r3 = 1 read, 2 write.
; Waits for the completion interrupt with the task priority raised so the timer cannot wake the CPU
; meanwhile (its ticks wait). Returns the device status (0 = ok).
disk_transfer:
        push r8
        movi r4, 0
        li   r5, disk_done
        stw  r4, [r5]
        irq_disable
        disk_start r1, r2, r3
        movi r4, 2
        set_tpr r4
1:      li   r5, disk_done
        ldw  r4, [r5]
        cmpi r4, 0
        bne  2f
        cpu_idle
        jmp  1b
2:      movi r4, 0
        set_tpr r4
        irq_enable
        li   r5, disk_result
        ldw  r0, [r5]
        pop  r8
        ret

sys_disk_read:                     ; r1 = sector, r2 = count, r3 = buffer -> 0 or -1
        cmpi r2, DISK_BUF_SECTORS
        bgtu 1f
        push r3
        push r2
        movi r3, 1
        call disk_transfer
        pop  r2
        pop  r1                    ; the user buffer
        cmpi r0, 0
        bne  1f
        li   r3, DISK_BUF
        shli r2, r2, 9             ; bytes
        mov  r4, r2
        mov  r2, r3
        mov  r3, r4
        call memcpy                ; (dst r1, src r2, n r3)
        movi r0, 0
        ret
1:      movi r0, -1
        ret

sys_disk_write:                    ; r1 = sector, r2 = count, r3 = buffer -> 0 or -1
        cmpi r2, DISK_BUF_SECTORS
        bgtu 1f
        push r1
        push r2
        mov  r4, r2
        li   r1, DISK_BUF
        mov  r2, r3
        shli r3, r4, 9
        call memcpy
        pop  r2
        pop  r1
        movi r3, 2
        call disk_transfer
        cmpi r0, 0
        bne  1f
        movi r0, 0
        ret
1:      movi r0, -1
        ret

        .include "sched.s"
        .include "proc.s"
        .include "mm.s"
        .include "klib.s"
        arch_code                  ; support code of the paravirtual build (nothing on bare metal)

; --- Kernel data -------------------------------------------------------------------------------------
; On pages of its own: a write to data never shares a page with code (a binary translator would have to
; treat it as self-modifying code and throw its translations of that page away).
        .align PAGE_SIZE
kernel_data:
ticks:          .word 0
need_resched:   .word 0
current:        .word 0
current_pd:     .word PGDIR        ; the address space in use
crit_counter:   .word 0
disk_done:      .word 0
disk_result:    .word 0
tcbs:           .space MAX_TASKS * TCB_SIZE
frame_top:      .word 0
frame_stack:    .space POOL_FRAMES * 4
frame_share:    .space POOL_FRAMES         ; per pool frame: address spaces beyond the first that share it (fork)
        arch_data

msg_task:         .asciz "task "
msg_killed:       .asciz " killed: "
msg_at_pc:        .asciz " at pc "
msg_newline:      .asciz "\n"
msg_panic:        .asciz "kernel panic: "
msg_not_supervisor: .asciz "kernel: not running in supervisor mode!\n"
name_de:          .asciz "divide error"
name_ud:          .asciz "invalid opcode"
name_gp:          .asciz "privilege violation"
name_pf:          .asciz "page fault"
name_ac:          .asciz "alignment check"
name_no_memory:   .asciz "page fault (out of memory)"
name_unexpected:  .asciz "unexpected trap"
        .align 4
kernel_end:
        .assert kernel_end <= KSTACK_BOOT - 0x1000, "the kernel image overlaps its boot stack"
