// An error raised deep inside a chain of tail calls still fails the program.
local down(n) = if n == 0 then error 'bottom reached' else down(n - 1) tailstrict;
{ out: down(50000) }
