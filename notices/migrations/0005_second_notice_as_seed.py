"""The built-in 第2報 as the seed wrote it: its sentences, its order, its 【事前準備】 for the additional
addresses, the sentence that points to them, and its office table. What depends on the member is a condition
of the notice language: 本日/先日 and FAX/メール (how the previous edition reached the member), 本紙/本メール
(how this copy goes out), and the part for members with additional addresses. The portal adds one block for
members with accounts still open (which accounts, and how to report). The seed's screen captures and sample
card and list are figures drawn as text (lines starting 「［図」 or 「｜」), not copies of the screens.

Deliberate differences from the seed, and only these (tests/notices/test_second_notice_template.py):
「BIGLOBRE」 is spelled 「BIGLOBE」, the apology sentence ends with 「。」, and the page numbers of the seed's
paper (P2, P5, P6) become references to sections, since a FAX or an email has other pages.

Copies already made from the template are notices of their own and are left as they are."""

from django.db import migrations

NAME = "第2報 BIGLOBE パスワード変更のお願い（画面変更版）"
TITLE = "【重要】BIGLOBE パスワード変更のお願い"
BODY = """平素は格別のご高配を賜り、厚く御礼申し上げます。

さて、{% if 前回が本日 %}本日{% else %}先日{% endif %}「BIGLOBE パスワード変更のお願い」について {% if 前回がメール %}メール{% else %}FAX {% endif %}にてご案内差し上げましたが、BIGLOBE 側のホームページの仕様（画面構成・操作手順）が一部変更となりました。

これに伴い、前回の案内とお手続きの流れが異なっているため、最新の仕様に合わせた変更手順を改めてご案内いたします。

すでにお手続きを完了されているお客様には、重ねてのご案内となりますことを深くお詫び申し上げます。まだお手続きがお済みでないお客様におかれましては、誠に恐れ入りますが、{% if メール %}本メール{% else %}本紙{% endif %}の手順に沿って、お早めにお手続きを行っていただきますようお願い申し上げます。
{% if 未完了 %}
お手続きがお済みでないアカウント：
{{ 未完了アカウント }}
{% if メール %}お手続きが済みましたら、下記のリンクからお知らせください（パスワードの入力は不要です）。
{{ 本人報告URL }}{% else %}お手続きが済みましたら、添付のFAX返信用紙でお知らせください（パスワードは書かないでください）。{% endif %}
{% endif %}
【事前準備】
EF ネット会員証をお手元にご準備ください。ない場合は、担当営業所へ再発行依頼をお願いいたします。
［図：EF ネット会員証の見本。5.ユーザーID と 6.パスワードを使います］
｜EFネット会員証　　　　　　　　　　　　　　2025年10月1日
｜1. 会員登録日　　　　: 2025年10月1日
｜2. 会員番号　　　　　: ○○○○
｜3. 登録者名　　　　　: ○○○○
｜4. 登録者住所　　　　: ○○○○
｜5. ユーザーID　　　　: ○○○○　← こちらのユーザーID・
｜6. パスワード　　　　: ○○○○　← パスワードが必要です
｜7. メールアドレス　　: ○○○○
｜8. メールサーバー名
｜　受信メール(POP3)サーバー : mail.biglobe.ne.jp
｜　送信メール(SMTP)サーバー : mail.biglobe.ne.jp
｜　　　　　　　株式会社エッサム　エッサムファミリー会　EF ネット事務局

【1：ログイン画面の表示とログイン方法】
下記、URL にアクセス頂き、ログイン画面を表示し、EF ネット会員証 5.ユーザーID、6.パスワードを入力し、ログインしてください。
① 以下の URL にアクセスください。
https://biz.biglobe.ne.jp/member/ryokinsei/
［図：「料金制選択コース」のページ。お知らせの下に「料金制選択コースの管理画面」のリンクがあります］
② 料金制選択コースの管理画面をクリックしてください
③ EF ネット会員証 5.ユーザーID、6.パスワードを入力してログインしてください。
［図：ログイン画面。「ユーザID」欄に 5.ユーザーID、「BIGLOBEパスワード」欄に 6.パスワードを入力し、「ログイン」をクリックします］

【2：BIGLOBE パスワード変更】
①画面右側メニューの一番上にある「BIGLOBE パスワード変更」をクリックします。
注意：BIGLOBE パスワード変更以外の項目は、絶対に触らないようにお願いいたします。
［図：料金制選択コース利用者画面。右側メニューの一番上が「BIGLOBEパスワード変更」、その下は接続パスワード変更・コース変更・利用明細・接続実績です］
②現在のパスワード欄に、EF ネット会員証 6. パスワードを入力してください。
※新しいパスワード欄に、数字・英小文字・英大文字・記号のいずれか2種類以上使用した8文字以上16文字以内で、お客様任意のパスワードを入力ください。
新しいパスワードの再入力の欄に、上記で決定したお客様任意のパスワードを再度入力ください。入力後、画面下部の「変更する」ボタンをクリックします。
注意：ここで入力した任意のパスワードを、会員証に必ずメモしておいてください。
［図：パスワード変更画面。「現在のパスワード」← EF ネット会員証 6.パスワード、「新しいパスワード」← お客様任意のパスワード、「新しいパスワードの再入力」← 同じパスワードをもう一度］
③画面の右角にある図をクリックし、ブラウザを閉じてください。
以上で、BIGLOBE パスワード変更は終了です。

【3：メールパスワード変更手順表示方法】
注意：こちらの作業をしないと、お使いのメールソフトでの送受信が出来なくなります。
※Outlook メールソフトでのメールパスワード変更方法をご案内いたします。
(他のメールソフトの設定は、各業者へお問合せ下さい。)
下記の①・②のいずれかの方法で、メールパスワード変更手順を開き、STEP8/10 と、STEP10/10の手順を実施し、メールパスワード変更お願いいたします。
①Google、yahoo いずれかの検索サイトにて、下記ワードで検索してください。
outlook 2021 メール設定 biglobe
②https://faq.support.biglobe.ne.jp/faq_detail.html?faq_id=12955 アクセスください。
{% if 追加メールアドレスあり %}
変更作業は以上で終了になりますが、追加メールアドレスを取得されているお客様は、下記の変更作業の実施もあわせてお願いいたします。

追加メールアドレスを取得・ご利用されているお客様
【事前準備】
追加メールアドレスリストを、担当営業所へ再発行依頼をお願いいたします。
［図：追加メールアドレスリストの見本。追加メールアドレスごとに 2.パスワード と ID を使います］
｜EFネット追加メールアドレスリスト
｜今回追加分はメールアドレス発行日 ○○○○/○/○ 分のものになります。
｜1. EFネット会員番号 : ○○○○
｜2. 会員名　　　　　 : ○○○○
｜3. 会員ID　　　　　 : ○○○○
｜追加メールアドレス1　メールアドレス発行日: ○○○○/○/○
｜　1. メールアドレス : ○○○○
｜　2. パスワード　　 : ○○○○　ID : ○○○○
｜　3. 受信メール(POP3)サーバー : mail.biglobe.ne.jp
｜　　 送信メール(SMTP)サーバー : mail.biglobe.ne.jp
｜　4. ポート番号(SMTP) : 587
追加メールアドレス単位での実施をお願いいたします。
追加メールアドレスリストの2パスワード・IDをご用意いただき、
【1：ログイン画面の表示とログイン方法】～【3：メールパスワード変更手順表示方法】まで、作業お願いいたします。
{% endif %}
変更作業は以上で終了になります。

※本件に関するお問い合わせは、各担当営業所までお問合せ下さい。(平日 9:00～17:00)
{{ 営業所電話一覧 }}
"""


def update_template(apps, schema_editor):
    NoticeTemplate = apps.get_model("notices", "NoticeTemplate")
    NoticeTemplate.objects.update_or_create(name=NAME, defaults={"title": TITLE, "body": BODY})


def restore_previous(apps, schema_editor):
    from importlib import import_module

    previous = import_module("notices.migrations.0002_second_notice_template")
    NoticeTemplate = apps.get_model("notices", "NoticeTemplate")
    NoticeTemplate.objects.filter(name=NAME).update(title=previous.TITLE, body=previous.BODY)


class Migration(migrations.Migration):
    dependencies = [("notices", "0004_notice_last_error")]
    operations = [migrations.RunPython(update_template, restore_previous)]
