; escape — a bare-metal test program (no kernel): the guest builds page tables that point past the end of its
; RAM — where a VMM keeps its own frames (shadow tables, the nested table, the translation cache's metadata) —
; and touches that memory. Bare metal has no memory there: the access is a machine check. Every engine must stop
; the same way, and none may let the guest read or write the VMM's frame.
;   default:        a page-table entry maps virtual 0x1000 to the first frame above RAM; the guest reads it
;   -D WRITE=1:     ... and writes it
;   -D VIA_PDE=1:   a directory entry points at a "page table" above RAM
        .equ PGDIR,   0x10000
        .equ PT,      0x11000
        .equ RAM_END, 0x800000         ; 8 MiB, the engines' default guest RAM
        .equ TARGET,  0x1000
        .equ PTE_PW,  3                ; present, writable (supervisor only)
start:  li   r1, PGDIR
.ifdef VIA_PDE
        li   r2, RAM_END | PTE_PW
        stw  r2, [r1 + 4]              ; 4..8 MiB: its table is beyond RAM
        .equ VA, 0x400000
.else
        .equ VA, TARGET
.endif
        li   r2, PT | PTE_PW
        stw  r2, [r1]
        li   r1, PT
        movi r2, PTE_PW                ; virtual page 0 -> frame 0 (this code)
        stw  r2, [r1]
        li   r2, RAM_END | PTE_PW      ; virtual page 1 -> the first frame above RAM
        stw  r2, [r1 + 4]
        li   r1, PGDIR
        mtcr ptbr, r1
        movi r1, 1                     ; paging on
        mtcr ctrl, r1
        li   r1, VA
        li   r2, 0x0bad0bad
.ifdef WRITE
        stw  r2, [r1]                  ; machine check
.else
        ldw  r2, [r1]                  ; machine check
.endif
        movi r1, 0x7e                  ; not reached: report an escape
        out  0xf0, r1
        hlt
