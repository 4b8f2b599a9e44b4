; critical-sections — the popf demonstration. The kernel runs critical sections the way real kernels write
; them (pushf; cli; ...; popf) until SCALE timer ticks have arrived in the windows between them.
; On bare metal the ticks come. Under trap-and-emulate on the default ISA, popf cannot re-enable the
; virtual IF, the ticks are never delivered, and the loop never ends.
        .ifndef SCALE
        .equ SCALE, 20
        .endif
        .align 4
user_tasks:
        .word main, 0
        .word 0
main:   li   r1, SCALE
        sys  SYS_CRIT              ; returns the ticks taken, read from the kernel's tick counter
        mov  r2, r0
        li   r1, label
        call print_labeled
        movi r1, 0
        call exit
label:  .asciz "timer ticks taken between critical sections: "
