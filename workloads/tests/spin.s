; spin — a test program (not a workload): a task that never ends. The run must stop at its instruction budget,
; under every engine, with status budget-exhausted (test/hostile/guests.test.ts).
;   default:          the task spins in user mode; the timer keeps preempting it (and the kernel keeps ticking)
;   -D IN_KERNEL=1:   the task asks the kernel for critical sections until 0x7fffffff timer ticks have come: the
;                     kernel itself loops (it is not preemptible), with interrupts coming and going
        .align 4
user_tasks:
        .word t_spin, 0
        .word 0
t_spin:
        li   r1, s_msg
        call puts
.ifdef IN_KERNEL
        li   r1, 0x7fffffff
        sys  SYS_CRIT
.endif
s_loop: addi r2, r2, 1
        jmp  s_loop
s_msg:  .asciz "spinning\n"
