// std.min/max of equal numbers (-0 and 0), and the functions built on comparisons: the spelling of each result
// shows which operand won.
local zeros = [[-0, 0], [0, -0], [-0, -0], [0, 0], [1, -0], [-0, -1]];
{
  min: [std.toString(std.min(p[0], p[1])) for p in zeros],
  max: [std.toString(std.max(p[0], p[1])) for p in zeros],
  clamp: [std.toString(std.clamp(x, lo, 1)) for x in [-0, 0] for lo in [-0, 0]],
  minArray: [std.toString(std.minArray(a)) for a in zeros],
  maxArray: [std.toString(std.maxArray(a)) for a in zeros],
  sort: [std.toString(x) for x in std.sort([0, -0, 0, -0])],
  named: std.max(b=2, a=1),
}
