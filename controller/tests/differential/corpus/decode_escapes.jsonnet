{ out: ['\u00e9' == 'é', '\ud83d\ude00', std.length('\ud83d\ude00')] }
