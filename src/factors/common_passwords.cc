#include "factors/common_passwords.h"

#include <algorithm>
#include <iterator>

namespace stepup::factors {
namespace {

// Hand-written from the well-known leaked-password top lists: digit runs,
// keyboard walks, "password" variants, names and teams with digits, seasons
// with years. Kept sorted so lookup is a binary search over a constant table
// (no allocation, no static-initialisation order concerns).
constexpr std::string_view kCommonPasswords[] = {
    "!@#$%^",         "!@#$%^&*",     "!qaz2wsx",     "0000",         "000000",
    "00000000",       "01011980",     "01011990",     "01012000",     "10101010",
    "1111",           "111111",       "1111111",      "11111111",     "112233",
    "11223344",       "121212",       "12121212",     "123123",       "123123123",
    "123321",         "1234",         "12341234",     "12345",        "1234512345",
    "123456",         "1234567",      "12345678",     "123456789",    "1234567890",
    "12345678910",    "123456789a",   "12345678a",    "1234567a",     "123456a",
    "1234abcd",       "1234qwer",     "123654",       "123abc",       "123qwe",
    "123qweasd",      "13131313",     "147258369",    "159357",       "159753",
    "1password",      "1q2w3e",       "1q2w3e4r",     "1q2w3e4r5t",   "1q2w3e4r5t6y",
    "1qaz!qaz",       "1qaz2wsx",     "1qazxsw2",     "22222222",     "2wsx3edc",
    "33333333",       "44444444",     "456789",       "555555",       "55555555",
    "654321",         "666666",       "6666666",      "696969",       "69696969",
    "741852963",      "7777777",      "77777777",     "789456123",    "87654321",
    "88888888",       "963852741",    "987654321",    "9876543210",   "987654321a",
    "99999999",       "a123456",      "a12345678",    "a1b2c3",       "a1b2c3d4",
    "aaaaaa",         "aaaaaaaa",     "abc123",       "abc12345",     "abc123456",
    "abcd1234",       "abcdef",       "abcdefg",      "abcdefgh",     "access",
    "access14",       "admin",        "admin123",     "admin1234",    "administrator",
    "administrator1", "alexander",    "alexandra",    "amanda123",    "america",
    "andrew",         "andrew123",    "angel",        "angel123",     "anthony",
    "anything",       "apple123",     "arsenal",      "asdf1234",     "asdfasdf",
    "asdfgh",         "asdfghjk",     "asdfghjkl",    "ashley",       "ashley123",
    "asshole",        "autumn",       "autumn2023",   "avengers",     "azerty",
    "azertyuiop",     "baby",         "babygirl",     "babygirl1",    "backup",
    "banana",         "baseball",     "baseball1",    "basketball",   "batman",
    "batman123",      "beautiful",    "benjamin",     "berlin",       "bigdaddy",
    "blahblah",       "blessed",      "blink182",     "boston",       "business",
    "buster",         "butterfly",    "butterfly1",   "california",   "canada",
    "captain",        "changeme",     "changeme123",  "charles",      "charlie",
    "charlie1",       "cheese",       "chelsea",      "chevrolet",    "chicago",
    "chicken",        "chocolate",    "christ",       "christian",    "christopher",
    "company",        "computer",     "computer1",    "cookie",       "corvette",
    "cowboy",         "cowboys",      "cutie",        "daddy",        "daniel",
    "daniel123",      "darthvader",   "database",     "default",      "default1",
    "demo",           "demo1234",     "diamond",      "dragon",       "dragon1",
    "dragon123",      "dropbox",      "eagle",        "elizabeth",    "eminem",
    "enterprise",     "everything",   "example",      "facebook",     "falcon",
    "family",         "father",       "ferrari",      "florida",      "flower",
    "football",       "football1",    "football12",   "forever",      "fortnite",
    "freedom",        "freedom1",     "friends",      "frodo",        "fuckoff",
    "fuckyou",        "fuckyou1",     "gandalf",      "garfield",     "george",
    "ginger",         "god",          "godisgood",    "golfer",       "goodluck",
    "google",         "greenday",     "guest",        "hallo123",     "hannah123",
    "harley",         "harrypotter",  "heaven",       "hello",        "hello123",
    "hello1234",      "helloworld",   "hockey",       "hockey1",      "hogwarts",
    "hunter",         "hunter123",    "hunter2",      "ilovegod",     "iloveu",
    "iloveyou",       "iloveyou!",    "iloveyou1",    "iloveyou123",  "iloveyou2",
    "instagram",      "internet",     "internet1",    "iphone",       "ironman",
    "jackson",        "jasmine",      "jennifer",     "jennifer1",    "jessica",
    "jessica1",       "jesus",        "jesus1",       "jesuschrist",  "jonathan",
    "jordan",         "jordan123",    "jordan23",     "joshua",       "joshua123",
    "killer",         "killer123",    "lakers",       "letmein",      "letmein!",
    "letmein1",       "letmein123",   "letmein2",     "liberty",      "linkedin",
    "liverpool",      "login",        "london",       "love",         "love1234",
    "lovelove",       "lovely",       "loveme",       "lovers",       "loveyou",
    "loveyou1",       "manager",      "manchester",   "master",       "master1",
    "master123",      "matrix",       "matrix1",      "matthew",      "matthew1",
    "maverick",       "mercedes",     "metallica",    "michael",      "michael1",
    "michael123",     "michelle",     "minecraft",    "mommy",        "money",
    "money123",       "moneymaker",   "monkey",       "monkey1",      "monkey123",
    "motdepasse",     "mother",       "mustang",      "mynoob",       "mypassword",
    "myspace1",       "mysql",        "naruto",       "natasha",      "newpassword",
    "newyork",        "nicholas",     "nicole",       "nicole123",    "nintendo",
    "nirvana",        "nothing",      "office",       "oldpassword",  "oracle",
    "orange",         "p@$$w0rd",     "p@ssw0rd",     "p@ssw0rd1",    "p@ssword",
    "pa$$word",       "panther",      "paris",        "parola",       "pass",
    "pass123",        "pass1234",     "passpass",     "passw0rd",     "passw0rd1",
    "passwd",         "password",     "password!",    "password01",   "password1",
    "password1!",     "password12",   "password123",  "password1234", "password2",
    "password2020",   "password2021", "password2022", "password2023", "password2024",
    "password3",      "password321",  "passwords",    "passwort",     "patricia",
    "pepper",         "phoenix",      "pikachu",      "playstation",  "pokemon",
    "porsche",        "postgres",     "princesa",     "princess",     "princess1",
    "purple",         "q1w2e3",       "q1w2e3r4",     "q1w2e3r4t5",   "qazwsx",
    "qazwsx123",      "qazwsxedc",    "qwe123",       "qweasdzxc",    "qweqwe",
    "qweqweqwe",      "qwer1234",     "qwerty",       "qwerty!",      "qwerty1",
    "qwerty12",       "qwerty123",    "qwerty1234",   "qwerty321",    "qwertyu",
    "qwertyui",       "qwertyuiop",   "qwertz",       "qwertz123",    "rainbow",
    "ranger",         "richard",      "robert",       "robert123",    "roblox",
    "rockstar",       "rockyou",      "root",         "samantha",     "samantha1",
    "sample",         "samsung",      "scooby",       "secret",       "secret123",
    "senha123",       "server",       "service",      "sexy123",      "shadow",
    "shadow1",        "shadow123",    "silverado",    "skywalker",    "slipknot",
    "snoopy",         "soccer",       "soccer1",      "something",    "spiderman",
    "spring",         "spring2024",   "startrek",     "starwars",     "starwars1",
    "starwars123",    "summer",       "summer2023",   "summer2024",   "sunflower",
    "sunshine",       "sunshine1",    "superman",     "superman1",    "superstar",
    "superuser",      "support",      "sweetheart",   "sweetie",      "sysadmin",
    "system",         "tennis",       "test",         "test123",      "test1234",
    "testing",        "testtest",     "texas",        "thepassword",  "thomas",
    "thomas123",      "tiger",        "tigger",       "tinkerbell",   "toor",
    "trinity",        "trustno1",     "twitter",      "unknown",      "user",
    "user1234",       "username",     "victoria",     "webmaster",    "welcome",
    "welcome!",       "welcome1",     "welcome123",   "welcome2",     "welcome2023",
    "welcome2024",    "whatever",     "whatever1",    "william",      "winter",
    "winter2023",     "winter2024",   "wolverine",    "wordpress",    "xbox360",
    "yankees",        "yourpassword", "youtube",      "zaq12wsx",     "zaq1zaq1",
    "zxcv1234",       "zxcvbn",       "zxcvbnm",      "zxcvbnm1",
};

static_assert(std::is_sorted(std::begin(kCommonPasswords), std::end(kCommonPasswords)),
              "kCommonPasswords must stay sorted for binary search");
static_assert(std::adjacent_find(std::begin(kCommonPasswords), std::end(kCommonPasswords)) ==
                  std::end(kCommonPasswords),
              "kCommonPasswords must not contain duplicates");

}  // namespace

bool is_common_password(std::string_view lowercase_nfkc) {
  return std::binary_search(std::begin(kCommonPasswords), std::end(kCommonPasswords),
                            lowercase_nfkc);
}

std::span<const std::string_view> common_passwords() { return kCommonPasswords; }

}  // namespace stepup::factors
