{ out: std.manifestTomlEx({ s: 'quote"', nl: 'a\nb', uni: 'é', empty: '', f: 1.5, neg: -3, n: 1e-7 }, '') }
