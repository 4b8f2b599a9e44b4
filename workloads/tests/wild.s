; wild — a test program (not a workload): user tasks that run wild, each in another way, and one that survives.
; The kernel must kill each of them with a message naming the fault and the pc, never the machine, exactly as
; on bare metal (test/hostile/guests.test.ts):
;   t_data       jumps into a string (its first word decodes to an undefined opcode)
;   t_odd        jumps to an address that is not a multiple of 4 (alignment check on the fetch)
;   t_kernel     jumps into kernel code (supervisor-only: page fault)
;   t_nowhere    jumps where nothing is mapped (page fault)
;   t_recurse    recurses without end: its stack grows down through the demand-zero region until the kernel runs
;                out of free frames, and the fault it can no longer serve kills it
        .align 4
user_tasks:
        .word t_data, 0, t_odd, 0, t_kernel, 0, t_nowhere, 0, t_recurse, 0, t_survivor, 0
        .word 0
t_data:
        jmp  w_text
t_odd:
        li   r1, t_odd + 2
        jmpr r1
t_kernel:
        li   r1, boot
        jmpr r1
t_nowhere:
        li   r1, 0x30000000
        jmpr r1
t_recurse:
w_recurse:
        call w_recurse
t_survivor:
        movi r1, 100
        sys  SYS_SLEEP             ; until the others are dead (100 ticks: 10 million instructions)
        li   r1, w_ok
        call puts
        movi r1, 0
        call exit
        .align 4
w_text: .asciz "hello"            ; as an instruction: 0x6c6c6568, opcode 0x6c (undefined)
w_ok:   .asciz "survivor: still running\n"
