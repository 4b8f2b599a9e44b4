; multitask — NTASKS tasks, preempted by a fast timer, each computing SCALE steps and printing its
; progress. They print in strict turns (a shared turn variable; waiting tasks yield), so the output is
; the same whatever the timing, while the timer and the yields make it context-switch heavy.
        .ifndef SCALE
        .equ SCALE, 20
        .endif
        .equ NTASKS, 4
        .equ WORK, 2000            ; generator steps between two progress lines
        .align 4
user_tasks:
        .word worker, 0, worker, 1, worker, 2, worker, 3
        .word 0
turn:   .word 0

worker: mov  r8, r1                ; r8 = task number k
        movi r9, 1                 ; r9 = step
        li   r10, 12345
        add  r10, r10, r8          ; r10 = generator state
        li   r12, 1103515245
1:      li   r3, SCALE
        cmp  r9, r3
        bgt  5f
        li   r11, WORK
2:      mul  r10, r10, r12         ; state = state * 1103515245 + 12345
        addi r10, r10, 12345
        addi r11, r11, -1
        cmpi r11, 0
        bne  2b
3:      li   r1, turn              ; wait for our turn
        ldw  r2, [r1]
        cmp  r2, r8
        beq  4f
        sys  SYS_YIELD
        jmp  3b
4:      li   r1, label_task
        call puts
        mov  r1, r8
        call print_dec
        li   r1, label_step
        call puts
        mov  r1, r9
        call print_dec
        li   r1, label_value
        mov  r2, r10
        call print_labeled_hex
        addi r2, r8, 1             ; pass the turn on
        cmpi r2, NTASKS
        blt  6f
        movi r2, 0
6:      li   r1, turn
        stw  r2, [r1]
        addi r9, r9, 1
        jmp  1b
5:      movi r1, 0
        call exit
label_task:  .asciz "task "
label_step:  .asciz " step "
label_value: .asciz ": "
