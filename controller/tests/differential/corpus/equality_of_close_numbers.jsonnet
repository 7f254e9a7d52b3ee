// Numbers compare exactly: neighbours within f64::EPSILON are different numbers, -0 equals 0.
{
  eq: [0.1 + 0.2 == 0.3, 5e-324 == 0, 1 == 1 + 2.220446049250313e-16, -0 == 0, 1e300 == 1e300 * (1 + 1e-16)],
  ne: [0.1 + 0.2 != 0.3, 5e-324 != 0],
  uniq: std.uniq([1, 1 + 2.220446049250313e-16, 2]),
  member: std.setMember(0.3, [0.1 + 0.2]),
  find: std.find(0.3, [0.1 + 0.2, 0.3]),
  equals: std.equals([0.1 + 0.2], [0.3]),
}
