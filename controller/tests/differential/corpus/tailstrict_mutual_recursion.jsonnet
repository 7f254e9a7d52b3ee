// Two functions calling each other with tailstrict in tail position: 100,000 calls in constant stack.
local isEven(n) = if n == 0 then true else isOdd(n - 1) tailstrict,
      isOdd(n) = if n == 0 then false else isEven(n - 1) tailstrict;
{ even: isEven(100000), odd: isOdd(100001), no: isEven(7) }
