pub mod cputime;
