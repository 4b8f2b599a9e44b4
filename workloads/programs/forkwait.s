; forkwait — repeated fork, exit and wait: Adams & Agesen's "forkwait", the process-creation killer for a VMM
; without MMU support. The parent fills HEAP_PAGES pages of its private memory, then SCALE times forks a
; child that reads a value from its copy, writes into its copy and exits with a code made from what it read.
; The parent waits for each child and checks the exit code, and that the child's write did not reach it.
        .ifndef SCALE
        .equ SCALE, 200
        .endif
        .equ HEAP_PAGES, 8
        .equ HEAP, DZ_BASE + 0x08000000
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   movi r8, 0                 ; touch the heap: page p holds p + 1 in its first word
1:      cmpi r8, HEAP_PAGES
        bge  2f
        shli r1, r8, 12
        li   r2, HEAP
        add  r1, r1, r2
        addi r3, r8, 1
        stw  r3, [r1]
        addi r8, r8, 1
        jmp  1b
2:      movi r8, 0                 ; iteration
        movi r9, 0                 ; errors
3:      li   r3, SCALE
        cmp  r8, r3
        bge  7f
        li   r1, HEAP
        stw  r8, [r1 + 4]          ; what the child must find in its copy
        sys  SYS_FORK
        cmpi r0, 0
        beq  child
        blt  5f
        mov  r1, r0
        sys  SYS_WAIT              ; the child's exit code
        andi r2, r8, 0x7f
        cmp  r0, r2
        beq  4f
        addi r9, r9, 1
4:      li   r1, HEAP
        ldw  r2, [r1 + 8]          ; the child wrote -1 here, in its copy only
        cmpi r2, 0
        beq  6f
5:      addi r9, r9, 1
6:      addi r8, r8, 1
        jmp  3b
7:      li   r1, label_children
        li   r2, SCALE
        call print_labeled
        li   r1, label_errors
        mov  r2, r9
        call print_labeled
        movi r1, 0
        call exit

child:  li   r1, HEAP
        ldw  r2, [r1 + 4]
        movi r3, -1
        stw  r3, [r1 + 8]
        andi r1, r2, 0x7f
        call exit

label_children: .asciz "children forked and reaped: "
label_errors:   .asciz "errors: "
