; defs.s — constants shared by the kernel and the user library: hardware, memory layout, ABI.

; --- Hardware (docs/isa.md) -------------------------------------------------------------------
        .equ FLAG_IF,          0x200
        .equ PORT_CONSOLE,     0x10
        .equ PORT_CONSOLE_ST,  0x11
        .equ PORT_TIMER,       0x20
        .equ PORT_TIMER_COUNT, 0x21
        .equ PORT_DISK_SECTOR, 0x30
        .equ PORT_DISK_ADDR,   0x31
        .equ PORT_DISK_COUNT,  0x32
        .equ PORT_DISK_CMD,    0x33
        .equ PORT_DISK_STATUS, 0x34
        .equ PORT_DISK_IRQ,    0x35
        .equ PORT_POWER,       0xf0
        .equ VEC_DE,           0
        .equ VEC_UD,           6
        .equ VEC_GP,           13
        .equ VEC_PF,           14
        .equ FAULT_NO_MEMORY,  VEC_PF | 0x100 ; (not a vector) a page fault the kernel had no free frame for
        .equ VEC_AC,           17
        .equ VEC_TIMER,        32
        .equ VEC_DISK,         48
        .equ VEC_SYSCALL,      0x80
        .equ PTE_P,            1
        .equ PTE_W,            2
        .equ PTE_U,            4
        .equ PTE_COW,          0x400       ; software bit (ignored by the MMU): a copy-on-write page of a fork
        .equ PF_PROTECTION,    1           ; page-fault error code: present, access not permitted
        .equ PF_WRITE,         2           ; the access was a write
        .equ PAGE_SIZE,        4096

; --- Physical memory layout (8 MiB; the kernel is identity-mapped) ---------------------------------
        .equ VECTORS,      0x1000      ; trap-vector table (256 words)
        .equ SHINFO,       0x2000      ; paravirtual shared-info page (unused by the native build)
        .equ KSTACK_BOOT,  0x80000     ; boot stack top (grows down into 0x7f000)
        .equ KSTACKS,      0x80000     ; task kernel stacks: task i uses [KSTACKS + i*KSTACK_SIZE, + KSTACK_SIZE)
        .equ KSTACK_SIZE,  0x2000
        .equ PGDIR,        0x90000     ; the master page directory (kernel mappings only; used at boot and at exit)
        .equ PT_LOW,       0x91000     ; page table for 0..4 MiB
        .equ PT_HIGH,      0x92000     ; page table for 4..8 MiB
        .equ DISK_BUF,     0xa0000     ; bounce buffer for disk transfers (64 KiB)
        .equ DISK_BUF_SECTORS, 128
        .equ USER_BASE,    0x100000    ; user programs are assembled here (user-accessible, identity-mapped)
        .equ USER_END,     0x200000
        .equ POOL_BASE,    0x200000    ; free frames for page tables and demand-zero pages
        .equ POOL_END,     0x800000
        .equ POOL_FRAMES,  (POOL_END - POOL_BASE) / PAGE_SIZE

; --- User virtual memory ---------------------------------------------------------------------
        .equ DZ_BASE,      0x40000000  ; demand-zero region: first touch maps a zeroed page
        .equ DZ_END,       0x80000000
        .equ DZ_FIRST_PDE, DZ_BASE >> 22 ; the directory entries of the private (per-address-space) region
        .equ DZ_END_PDE,   DZ_END >>> 22 ; (exclusive)
        .equ USTACK_TOP,   0x7ff00000  ; task i's stack top is USTACK_TOP - i * USTACK_SPAN
        .equ USTACK_SPAN,  0x00100000

; --- Tasks -----------------------------------------------------------------------------------
        .equ MAX_TASKS,    8
        .equ T_FREE,       0
        .equ T_READY,      1
        .equ T_SLEEPING,   2
        .equ T_ZOMBIE,     3

; --- System calls: r0 = number, arguments in r1..r3, result in r0 ---------------------------
        .equ SYS_EXIT,        0   ; exit(code)
        .equ SYS_WRITE,       1   ; write(buf, len) -> len
        .equ SYS_GETTICKS,    2   ; getticks() -> timer ticks since boot
        .equ SYS_YIELD,       3   ; yield()
        .equ SYS_GETPID,      4   ; getpid() -> task id
        .equ SYS_SLEEP,       5   ; sleep(ticks)
        .equ SYS_NULL,        6   ; null(n) -> n + 1: the null system call; the result lets the caller count calls
        .equ SYS_FAULTMODE,   7   ; faultmode(mode): 0 = a fault kills the task, 1 = skip the faulting instruction
        .equ SYS_RELEASE,     8   ; release(va, pages): unmap demand-zero pages and free their frames
        .equ SYS_DISK_READ,   9   ; disk_read(sector, count, buf) -> 0 or -1
        .equ SYS_DISK_WRITE, 10   ; disk_write(sector, count, buf) -> 0 or -1
        .equ SYS_BENCH_IN,   11   ; bench_in(n): the kernel reads the console status port n times
        .equ SYS_BENCH_PRIO, 12   ; bench_prio(n) -> n: the kernel writes the task-priority register n times, counting
        .equ SYS_BENCH_PTE,  13   ; bench_pte(n) -> n: the kernel rewrites a page-table entry and invalidates it n times, counting
        .equ SYS_CRIT,       14   ; crit(ticks) -> ticks taken: critical sections (pushf; cli; ...; popf) until `ticks` timer ticks
        .equ SYS_BENCH_SMC,  15   ; bench_smc(n): the kernel patches one of its own instructions n times, running it each time
        .equ SYS_FAULTS,     16   ; faults() -> number of faults skipped for this task (faultmode 1)
        .equ SYS_FORK,       17   ; fork() -> child id in the parent, 0 in the child, -1 if it failed
        .equ SYS_WAIT,       18   ; wait(id) -> the exit code of child `id` once it has exited (-1: not a child)
        .equ NSYSCALLS,      19
