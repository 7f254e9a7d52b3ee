local nest(n) = if n == 0 then { leaf: [1, { x: 'y' }] } else { ['level' + n]: nest(n - 1), list: [[n]] };
{ out: std.manifestYamlDoc(nest(6)), indented: std.manifestYamlDoc(nest(4), indent_array_in_object=true) }
