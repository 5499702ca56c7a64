-- One database per service (DESIGN.md: a service reads and writes only its own database).
CREATE DATABASE auth;
CREATE DATABASE documents;
CREATE DATABASE finance;
CREATE DATABASE orders;
CREATE DATABASE notifications;
CREATE DATABASE meetings;
