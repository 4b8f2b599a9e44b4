; hello.s — the smallest complete VS32 program: print a string through the console port, then power off.
; Runs on bare metal in supervisor mode (no kernel): `npx virtstrat run workloads/bare/hello.s`.

        .equ CONSOLE_DATA, 0x10
        .equ POWER, 0xf0

        li   r1, message        ; r1 = address of the string
loop:   ldb  r2, [r1]           ; next byte
        cmpi r2, 0
        beq  done               ; stop at the terminating NUL
        out  CONSOLE_DATA, r2
        addi r1, r1, 1
        jmp  loop
done:   movi r3, 0
        out  POWER, r3          ; power off with exit code 0

message:
        .asciz "Hello from VS32!\n"
