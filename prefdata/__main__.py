from prefdata.cli import console_main

console_main()
