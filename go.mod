module github.com/vsrsim/vsrsim

go 1.24.0
