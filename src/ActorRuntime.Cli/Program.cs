// arctl: commands are added as the runtime grows; unknown commands are an error.
Console.Error.WriteLine("usage: arctl <command>");
return 2;
