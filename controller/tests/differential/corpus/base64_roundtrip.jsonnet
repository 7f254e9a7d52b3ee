{ out: [std.base64Decode(std.base64('kubernetes')), std.base64(std.manifestJsonEx({ auths: { 'r.io': { auth: std.base64('u:p') } } }, '')), std.base64([]), std.base64DecodeBytes('')] }
