; preempt — a test program (not a workload): proves the kernel's scheduling is preemptive.
; Two tasks take SCALE turns each in strict alternation through a shared `turn` word, and neither ever yields,
; sleeps or makes a system call while it waits: it spins. A task that has taken its turn can only be
; followed by the other one if the timer interrupts it and the scheduler switches tasks, so the program
; finishes only under round-robin preemption (test/workloads/scheduler.test.ts; slow the timer down and it
; spins until the instruction budget).
        .ifndef SCALE
        .equ SCALE, 10
        .endif
        .align 4
user_tasks:
        .word ping, 0, pong, 1
        .word 0
turn:   .word 0                    ; whose turn it is: 0 = ping, 1 = pong
turns:  .word 0                    ; turns taken by both tasks

; r1 = this task's number (0 or 1): it waits for turn == r1, then hands the turn to the other task.
ping:
pong:   mov  r8, r1
        movi r9, 0                 ; turns this task has taken
        li   r10, turn
        li   r11, turns
1:      ldw  r2, [r10]             ; spin: no yield, no system call
        cmp  r2, r8
        bne  1b
        ldw  r2, [r11]
        addi r2, r2, 1
        stw  r2, [r11]
        xori r2, r8, 1
        stw  r2, [r10]             ; the other task's turn
        addi r9, r9, 1
        li   r3, SCALE
        cmp  r9, r3
        blt  1b
        cmpi r8, 1                 ; pong takes the last turn of all: it reports
        bne  2f
        li   r1, label
        ldw  r2, [r11]
        call print_labeled
2:      movi r1, 0
        call exit
label:  .asciz "turns taken in strict alternation, without yielding: "
